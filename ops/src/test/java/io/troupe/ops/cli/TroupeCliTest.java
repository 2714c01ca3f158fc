package io.troupe.ops.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.troupe.errors.TroupeException;
import io.troupe.errors.TroupeException.Kind;
import io.troupe.worker.engine.EngineException;
import java.nio.file.NoSuchFileException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletionException;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import picocli.CommandLine;
import picocli.CommandLine.Command;

class TroupeCliTest {

    /** What one run of the CLI printed and returned. */
    private record Run(int exitCode, String out, String err) {
        List<String> errLines() {
            return err.lines().toList();
        }
    }

    private static Run run(CommandLine commandLine, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        commandLine.setOut(new PrintWriter(out)).setErr(new PrintWriter(err));
        int exitCode = commandLine.execute(args);
        return new Run(exitCode, out.toString(), err.toString());
    }

    private static Run troupe(String... args) {
        return run(TroupeCli.commandLine(), args);
    }

    @Test
    void versionNamesTroupeAndTheBundledOnnxRuntime() {
        Run run = troupe("--version");
        assertEquals(TroupeCli.EXIT_OK, run.exitCode());
        // Filtered from the POM, so a broken resource filter shows up as a literal ${...}.
        assertTrue(run.out().startsWith("troupe 0."), run.out());
        assertTrue(run.out().contains("ONNX Runtime 1."), run.out());
        assertTrue(!run.out().contains("${"), run.out());
    }

    @Test
    void helpListsTheCommands() {
        Run run = troupe("--help");
        assertEquals(TroupeCli.EXIT_OK, run.exitCode());
        assertTrue(run.out().contains("bench"), run.out());
        assertTrue(troupe("bench", "gemm", "--help").out().contains("--threads=T"));
    }

    /**
     * A bare '%' in a description is a format error picocli reports on System.err (not the
     * command's err writer) every time the help is drawn: "95% CI" must be written "95%% CI".
     */
    @Test
    void everyCommandsHelpRendersWithoutPicocliWarnings() {
        java.io.PrintStream stderr = System.err;
        java.io.ByteArrayOutputStream captured = new java.io.ByteArrayOutputStream();
        List<String> seen = new ArrayList<>();
        try {
            System.setErr(new java.io.PrintStream(captured, true, java.nio.charset.StandardCharsets.UTF_8));
            renderHelp(TroupeCli.commandLine(), seen);
        } finally {
            System.setErr(stderr);
        }
        assertTrue(seen.contains("troupe tune"), seen.toString());
        assertEquals("", captured.toString(java.nio.charset.StandardCharsets.UTF_8), "help of " + seen);
    }

    private static void renderHelp(CommandLine command, List<String> seen) {
        command.getUsageMessage();
        seen.add(command.getCommandSpec().qualifiedName());
        for (CommandLine sub : command.getSubcommands().values()) {
            if (!seen.contains(sub.getCommandSpec().qualifiedName())) {
                renderHelp(sub, seen);
            }
        }
    }

    @Test
    void benchGemmPrintsOneJsonObject() throws Exception {
        Run run = troupe("bench", "gemm", "--threads", "1", "--warmups", "0", "--runs", "1", "--json");
        assertEquals(TroupeCli.EXIT_OK, run.exitCode(), run.err());
        assertEquals("", run.err());
        assertEquals(1, run.out().lines().count(), run.out());
        JsonNode json = new ObjectMapper().readTree(run.out());
        assertEquals(List.of("threads", "gemm_peak_gflops"), iterableToList(json.fieldNames()));
        assertEquals(1, json.get("threads").intValue());
        assertTrue(json.get("gemm_peak_gflops").doubleValue() > 0, run.out());
    }

    @Test
    void benchGemmWithoutJsonPrintsASentence() {
        Run run = troupe("bench", "gemm", "--threads", "1", "--warmups", "0", "--runs", "1");
        assertEquals(TroupeCli.EXIT_OK, run.exitCode(), run.err());
        assertTrue(run.out().matches("MatMul \\[768x768] x \\[768x3072] float32, 1 thread\\(s\\): [0-9.]+ GFLOP/s\\R"),
                run.out());
    }

    @Test
    void badFlagsAndValuesPrintOneLineAndExitWithUsage() {
        assertUsageError(troupe("--qqq"), "troupe: Unknown option: '--qqq' (see 'troupe --help')");
        assertUsageError(troupe("qqq"), "troupe: Unknown command: 'qqq' (see 'troupe --help')");
        assertUsageError(troupe(), "troupe: Missing required subcommand (see 'troupe --help')");
        assertUsageError(troupe("bench"), "troupe: Missing required subcommand (see 'troupe bench --help')");
        assertUsageError(troupe("bench", "gemm", "--threads", "0"),
                "troupe: --threads must be at least 1, got 0 (see 'troupe bench gemm --help')");
        assertUsageError(troupe("bench", "gemm", "--threads", "many"),
                "troupe: Invalid value for option '--threads': 'many' is not an int (see 'troupe bench gemm --help')");
        assertUsageError(troupe("bench", "gemm", "--runs", "0"),
                "troupe: --runs must be at least 1, got 0 (see 'troupe bench gemm --help')");
        assertUsageError(troupe("bench", "gemm", "--jsno"),
                "troupe: Unknown option: '--jsno'; did you mean --json? (see 'troupe bench gemm --help')");
    }

    /** A command that throws what it is given, created when it runs so the stack trace points at call(). */
    @Command(name = "fails")
    static final class Fails implements Callable<Integer> {
        private final Supplier<Exception> failure;

        Fails(Supplier<Exception> failure) {
            this.failure = failure;
        }

        @Override
        public Integer call() throws Exception {
            throw failure.get();
        }
    }

    @Test
    void userErrorsPrintTheirMessageOnOneLineWithoutAStackTrace() {
        Run run = run(TroupeCli.withErrorReporting(new CommandLine(new Fails(
                () -> UserError.inputData("no corpus at data/tiny.txt;\n run 'troupe prepare' first")))));
        assertEquals(TroupeCli.EXIT_FAILURE, run.exitCode());
        assertEquals(List.of("troupe: no corpus at data/tiny.txt; run 'troupe prepare' first"), run.errLines());
        assertEquals("", run.out());
    }

    @Test
    void aUsageErrorFromACommandExitsWithUsageAndPointsAtItsHelp() {
        Run run = run(TroupeCli.withErrorReporting(new CommandLine(new Fails(
                () -> UserError.usage("--resume and --force contradict each other; pass one of them")))));
        assertEquals(TroupeCli.EXIT_USAGE, run.exitCode());
        assertEquals(List.of("troupe: --resume and --force contradict each other; pass one of them (see 'fails --help')"),
                run.errLines());
    }

    /** A Troupe failure of any kind, as a module other than the CLI would throw it. */
    private static final class Failure extends TroupeException {
        Failure(Kind kind, String message) {
            super(kind, message);
        }
    }

    @ParameterizedTest
    @EnumSource(Kind.class)
    void theKindDecidesTheExitCodeAndOnlyUsageExitsWithTwo(Kind kind) {
        Run run = run(TroupeCli.withErrorReporting(new CommandLine(new Fails(() -> new Failure(kind, "it broke")))));
        assertEquals(kind == Kind.USAGE ? TroupeCli.EXIT_USAGE : TroupeCli.EXIT_FAILURE, run.exitCode(), run.err());
        assertEquals(1, run.errLines().size(), run.err());
        assertTrue(run.errLines().get(0).startsWith("troupe: "), run.err());
        assertTrue(run.errLines().get(0).contains("it broke"), run.err());
        assertEquals(kind == Kind.INTERNAL, run.err().contains("bug in Troupe"), run.err());
    }

    @Test
    void aFailureWrappedByAFutureKeepsItsKind() {
        Run run = run(TroupeCli.withErrorReporting(new CommandLine(new Fails(() -> new CompletionException(
                UserError.usage("--wire must be fp32 or bf16"))))));
        assertEquals(TroupeCli.EXIT_USAGE, run.exitCode(), run.err());
        assertEquals(List.of("troupe: --wire must be fp32 or bf16 (see 'fails --help')"), run.errLines());
    }

    @Test
    void engineFailuresAreReportedOnOneLine() {
        Run run = run(TroupeCli.withErrorReporting(new CommandLine(new Fails(() -> new EngineException(Kind.CONFIG,
                "device cuda:0 needs ONNX Runtime's CUDA execution provider", null)))));
        assertEquals(TroupeCli.EXIT_FAILURE, run.exitCode());
        assertEquals(List.of("troupe: device cuda:0 needs ONNX Runtime's CUDA execution provider"), run.errLines());
    }

    @Test
    void anIoFailureIsNotABug() {
        Run run = run(TroupeCli.withErrorReporting(new CommandLine(new Fails(
                () -> new NoSuchFileException("/data/shards/train-0.bin")))));
        assertEquals(TroupeCli.EXIT_FAILURE, run.exitCode());
        assertEquals(List.of("troupe: I/O failed (NoSuchFileException): /data/shards/train-0.bin"), run.errLines());
    }

    @Test
    void bugsSayTheyAreBugsAndHowToSeeTheStackTrace() {
        Run run = run(TroupeCli.withErrorReporting(new CommandLine(new Fails(() -> new ArithmeticException("/ by zero")))));
        assertEquals(TroupeCli.EXIT_FAILURE, run.exitCode());
        assertEquals(List.of("troupe: internal error: / by zero; this is a bug in Troupe: run again with TROUPE_DEBUG=1"
                + " to see its stack trace, and report it"), run.errLines());
    }

    @Test
    void debugModeAddsTheStackTrace() {
        ErrorReporter debug = new ErrorReporter(true);
        Run run = run(new CommandLine(new Fails(() -> new ArithmeticException("/ by zero")))
                .setExecutionExceptionHandler(debug).setParameterExceptionHandler(debug));
        assertEquals(TroupeCli.EXIT_FAILURE, run.exitCode());
        assertTrue(run.err().startsWith("troupe: internal error: / by zero"), run.err());
        assertTrue(run.err().contains("java.lang.ArithmeticException: / by zero"), run.err());
        assertTrue(run.err().contains("at io.troupe.ops.cli.TroupeCliTest$Fails.call"), run.err());
    }

    /** A parent command whose {@code train} subcommand throws the given error, as a real command would. */
    @Command(name = "troupe", subcommands = RunsOutOfHeap.class)
    static final class Parent {
    }

    @Command(name = "train")
    static final class RunsOutOfHeap implements Callable<Integer> {
        static volatile Supplier<Throwable> error;

        @Override
        public Integer call() throws Exception {
            Throwable t = error.get();
            if (t instanceof Exception e) {
                throw e;
            }
            throw (Error) t;
        }
    }

    /** An OutOfMemoryError whose stack trace says it was thrown while a checkpoint was written. */
    private static OutOfMemoryError heapSpaceWhileSaving() {
        OutOfMemoryError oom = new OutOfMemoryError("Java heap space");
        oom.setStackTrace(new StackTraceElement[] {
            new StackTraceElement("io.troupe.worker.job.WorkerJob", "checkpoint", "WorkerJob.java", 814),
            new StackTraceElement("io.troupe.worker.run.Trainer", "run", "Trainer.java", 226)});
        return oom;
    }

    @Test
    void anOutOfMemoryErrorIsOneLineNamingTheHeapThePhaseAndTheFix() {
        RunsOutOfHeap.error = TroupeCliTest::heapSpaceWhileSaving;
        Run run = run(TroupeCli.withErrorReporting(new CommandLine(new Parent())), "train");
        assertEquals(TroupeCli.EXIT_FAILURE, run.exitCode(), run.err());
        assertEquals(1, run.errLines().size(), "one line, no stack trace: " + run.err());
        String line = run.errLines().get(0);
        assertTrue(line.matches("troupe: out of Java heap \\(max \\d+\\.\\d GiB\\) while writing a checkpoint; give the JVM"
                + " more with TROUPE_JAVA_OPTS=-Xmx\\d+g \\(see README\\)"), line);
    }

    @Test
    void anOutOfMemoryErrorCarriedByAFutureIsReportedTheSameWay() {
        RunsOutOfHeap.error = () -> new CompletionException(new OutOfMemoryError("Java heap space"));
        Run run = run(TroupeCli.withErrorReporting(new CommandLine(new Parent())), "train");
        assertEquals(TroupeCli.EXIT_FAILURE, run.exitCode(), run.err());
        assertEquals(1, run.errLines().size(), run.err());
        assertTrue(run.errLines().get(0).startsWith("troupe: out of Java heap (max "), run.err());
        assertTrue(run.errLines().get(0).contains(" while running 'troupe train'; give the JVM more with"
                + " TROUPE_JAVA_OPTS=-Xmx"), run.err());
    }

    @Test
    void theSuggestedHeapIsTwiceTheHeapButLeavesAQuarterOfTheMachine() {
        long gib = 1L << 30;
        OutOfMemoryError oom = heapSpaceWhileSaving();
        assertEquals("out of Java heap (max 5.9 GiB) while writing a checkpoint; give the JVM more with"
                + " TROUPE_JAVA_OPTS=-Xmx12g (see README)",
                OutOfHeap.message(oom, "troupe train", (long) (5.9 * gib), 24 * gib));
        assertEquals("out of Java heap (max 12.0 GiB) while writing a checkpoint; give the JVM more with"
                + " TROUPE_JAVA_OPTS=-Xmx18g (see README)", OutOfHeap.message(oom, "troupe train", 12 * gib, 24 * gib));
        assertEquals("out of Java heap (max 18.0 GiB) while writing a checkpoint; the heap is already most of this"
                + " machine's 24.0 GiB: use a smaller batch_size (more grad_accum) or model, or a larger machine",
                OutOfHeap.message(oom, "troupe train", 18 * gib, 24 * gib));
    }

    private static void assertUsageError(Run run, String line) {
        assertEquals(TroupeCli.EXIT_USAGE, run.exitCode(), run.err());
        assertEquals(List.of(line), run.errLines());
        assertEquals("", run.out());
    }

    private static <T> List<T> iterableToList(Iterator<T> iterator) {
        List<T> list = new ArrayList<>();
        iterator.forEachRemaining(list::add);
        return list;
    }
}
