package io.troupe.ops.cli;

import ai.onnxruntime.OrtException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.troupe.data.DataException;
import io.troupe.ops.explain.ExplainMethod;
import io.troupe.ops.explain.ExplainOptions;
import io.troupe.ops.explain.Explainer;
import io.troupe.ops.explain.Explanation;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code troupe bench explain}: how long one explanation takes once the model is open. */
@Command(name = "explain",
        description = {"Time troupe explain on one text: opening the model, the first explanation (which builds the"
                + " graph and its ORT session) and the median of --repeat more, with the completeness error and the"
                + " load average. The text is --text, or a line of Shakespeare repeated, cut to --chars characters"
                + " (a character model's tokens)."},
        mixinStandardHelpOptions = true)
final class BenchExplainCommand implements Callable<Integer> {
    private static final String LINE = "First Citizen: Before we proceed any further, hear me speak. All: Speak, speak. ";

    @Spec
    private CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "DIR", description = "An exported model directory.")
    private Path model;

    @Option(names = "--text", paramLabel = "TEXT", description = "The text to explain (default: Shakespeare, --chars long).")
    private String text;

    @Option(names = "--chars", paramLabel = "N", defaultValue = "128", description = "Length of the default text (default: ${DEFAULT-VALUE}).")
    private int chars;

    @Option(names = "--target", paramLabel = "TARGET", description = "As troupe explain --target.")
    private String target;

    @Option(names = "--method", paramLabel = "NAME", defaultValue = "integrated-gradients",
            description = "As troupe explain --method (default: ${DEFAULT-VALUE}).")
    private String method;

    @Option(names = "--steps", paramLabel = "N", defaultValue = "32", description = "Integrated-gradients steps (default: ${DEFAULT-VALUE}).")
    private int steps;

    @Option(names = "--repeat", paramLabel = "N", defaultValue = "5", description = "Timed explanations after the first (default: ${DEFAULT-VALUE}).")
    private int repeat;

    @Mixin
    private ThreadsOption threads;

    @Mixin
    private JsonOption json;

    /**
     * CPU time of the whole process (every thread): on a shared machine the wall time says how busy
     * the others are, while CPU time / threads is what the explanation would take on idle cores.
     */
    private static long processCpuNanos() {
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            return os.getProcessCpuTime();
        }
        return 0;
    }

    @Override
    public Integer call() throws DataException, OrtException {
        if (repeat < 1 || chars < 1) {
            throw UserError.usage("--repeat and --chars must be >= 1");
        }
        String input = text != null ? text : LINE.repeat(chars / LINE.length() + 1).substring(0, chars);
        ExplainOptions options = new ExplainOptions(ExplainMethod.parse(method), target, steps);
        long t0 = System.nanoTime();
        double[] times = new double[repeat];
        Explanation e;
        double openMs;
        double firstMs;
        double cpuMs;
        try (Explainer explainer = Explainer.open(model, threads.threads())) {
            long t1 = System.nanoTime();
            openMs = (t1 - t0) / 1e6;
            e = explainer.explain(input, options);
            firstMs = (System.nanoTime() - t1) / 1e6;
            long cpu0 = processCpuNanos();
            for (int i = 0; i < repeat; i++) {
                long s = System.nanoTime();
                e = explainer.explain(input, options);
                times[i] = (System.nanoTime() - s) / 1e6;
            }
            cpuMs = (processCpuNanos() - cpu0) / 1e6 / repeat;
        }
        double[] sorted = times.clone();
        Arrays.sort(sorted);
        double median = sorted[repeat / 2];
        double load = ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
        PrintWriter out = spec.commandLine().getOut();
        if (json.enabled()) {
            ObjectNode o = new ObjectMapper().createObjectNode().put("method", options.method().label())
                    .put("steps", steps).put("tokens", e.tokens().size()).put("truncated", e.truncated())
                    .put("threads", threads.threads()).put("open_ms", openMs).put("first_ms", firstMs)
                    .put("median_ms", median).put("min_ms", sorted[0]).put("cpu_ms", cpuMs).put("completeness_error", e.completenessError())
                    .put("score", e.score()).put("baseline_score", e.baselineScore()).put("load_average", load);
            Json.printLine(out, o);
        } else {
            out.printf(Locale.ROOT, "%s, %d steps, %d tokens explained (%d truncated), %d threads%n",
                    options.method().label(), steps, e.tokens().size(), e.truncated(), threads.threads());
            out.printf(Locale.ROOT, "open %.0f ms, first explanation %.0f ms, then median %.0f ms (min %.0f) over %d,"
                    + " %.0f ms of process CPU time each%n", openMs, firstMs, median, sorted[0], repeat, cpuMs);
            if (e.completenessError() != null) {
                out.printf(Locale.ROOT, "f(x) %.5g, f(b) %.5g, completeness error %.3g (%.2g%% of f(x) - f(b))%n",
                        e.score(), e.baselineScore(), e.completenessError(),
                        100 * e.completenessError() / Math.abs(e.score() - e.baselineScore()));
            }
            out.printf(Locale.ROOT, "load average %.2f on %d CPUs%n", load, Runtime.getRuntime().availableProcessors());
        }
        out.flush();
        return TroupeCli.EXIT_OK;
    }
}
