package io.troupe.ops.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.stream.Stream;

/** One in-process run of the {@code troupe} command line, and helpers for tests of train, generate and eval. */
record CliRun(List<String> args, int exitCode, String out, String err) {

    /** Settings for a model small enough to train in a fraction of a second. */
    static final List<String> TINY = List.of("n_layer=1", "n_head=2", "n_embd=16", "block_size=16", "batch_size=4",
            "eval_iters=2", "eval_interval=2", "log_interval=1", "warmup_iters=1", "lr_decay_iters=4");

    /** Pseudo-English over a small alphabet (no capitals, no 'z'); the same every call. */
    static final String TEXT = corpus();

    private static String corpus() {
        String[] words = {"the", "king", "queen", "shall", "not", "go", "to", "war", "with", "thee", "my", "lord",
            "and", "her", "love", "what", "say", "you"};
        Random random = new Random(42);
        StringBuilder text = new StringBuilder();
        while (text.length() < 3000) {
            text.append(words[random.nextInt(words.length)]).append(random.nextInt(8) == 0 ? ".\n" : " ");
        }
        return text.toString();
    }

    static CliRun troupe(Object... args) {
        List<String> strings = new ArrayList<>();
        for (Object arg : args) {
            if (arg instanceof List<?> list) {
                list.forEach(a -> strings.add(a.toString()));
            } else {
                strings.add(arg.toString());
            }
        }
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int exitCode = TroupeCli.commandLine().setOut(new PrintWriter(out)).setErr(new PrintWriter(err))
                .execute(strings.toArray(String[]::new));
        return new CliRun(strings, exitCode, out.toString(), err.toString());
    }

    /** Trains the tiny model for {@code steps} steps on {@code data} into {@code out}. */
    static CliRun trainTiny(Path data, Path out, int steps, String... extra) {
        return troupe("train", "--data", data, "--out", out, "--steps", steps, "--threads", 1, TINY, List.of(extra));
    }

    CliRun assertOk() {
        assertEquals(TroupeCli.EXIT_OK, exitCode, this::toString);
        return this;
    }

    /**
     * A failure the user can act on: a non-zero exit, exactly one line on stderr that starts with
     * "troupe: " and contains {@code fragment}, no stack trace, and not the line of a bug.
     */
    CliRun assertOneLineError(String fragment) {
        assertNotEquals(TroupeCli.EXIT_OK, exitCode, this::toString);
        assertFalse(err.contains("internal error"), this::toString);
        List<String> lines = err.lines().toList();
        assertEquals(1, lines.size(), this::toString);
        assertTrue(lines.get(0).startsWith("troupe: "), this::toString);
        assertTrue(lines.get(0).contains(fragment), () -> "expected '" + fragment + "' in: " + this);
        assertFalse(err.contains("at io.troupe"), this::toString);
        assertFalse(err.contains("Exception"), this::toString);
        return this;
    }

    CliRun assertExit(int expected) {
        assertEquals(expected, exitCode, this::toString);
        return this;
    }

    @Override
    public String toString() {
        return "troupe " + String.join(" ", args) + " -> exit " + exitCode + "\n--- stdout:\n" + out + "--- stderr:\n" + err;
    }

    /** Every regular file under {@code dir} with its bytes, by relative path. */
    static Map<String, byte[]> snapshot(Path dir) throws IOException {
        Map<String, byte[]> files = new TreeMap<>();
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.filter(Files::isRegularFile).toList()) {
                files.put(dir.relativize(p).toString(), Files.readAllBytes(p));
            }
        }
        return files;
    }

    static void assertSameFiles(Map<String, byte[]> before, Map<String, byte[]> after) {
        assertEquals(before.keySet(), after.keySet(), "files in the directory");
        before.forEach((name, bytes) -> assertArrayEquals(bytes, after.get(name), name + " changed"));
    }
}
