package io.troupe.ops.cli;

import io.troupe.ops.serve.OpenAiServer;
import io.troupe.ops.serve.ServeBenchmark;
import io.troupe.ops.serve.ServeLimits;
import io.troupe.ops.serve.monitor.MonitorSettings;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.util.ArrayList;
import java.util.List;
import java.util.function.ToDoubleFunction;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code troupe bench serve}: streaming load against an in-process {@code troupe serve}, 1 client vs N. */
@Command(name = "serve",
        description = {"Measure troupe serve under load: tokens/s of 1 and of N concurrent streaming clients.",
            "Starts a server on a free 127.0.0.1 port with the model; reports aggregate tokens/s, the speed-up over one client,"
                    + " and p50/p99 time to first token and inter-token latency.",
            "--compare-monitor R measures what serve's drift monitor costs: R interleaved pairs of runs with it on and off."},
        mixinStandardHelpOptions = true)
final class BenchServeCommand implements Callable<Integer> {

    @Spec
    private CommandSpec spec;

    @Option(names = "--model", paramLabel = "DIR", description = "Directory with model.onnx and tokenizer.json.")
    private Path model;

    @Option(names = "--config", paramLabel = "NAME",
            description = "Instead of --model: a model of a benchmark shape with random weights (small, big or gpt2), exported"
                    + " to a temporary directory for the run.")
    private String config;

    @Option(names = "--kv-cache-mib", defaultValue = "1024", paramLabel = "MIB",
            description = "Memory for the KV caches, as troupe serve's option (default: ${DEFAULT-VALUE}).")
    private long kvCacheMib;

    @Option(names = "--clients", defaultValue = "16", paramLabel = "N", description = "Concurrent clients (default: ${DEFAULT-VALUE}).")
    private int clients;

    @Option(names = "--requests", defaultValue = "2", paramLabel = "R", description = "Requests per client (default: ${DEFAULT-VALUE}).")
    private int requests;

    @Option(names = "--tokens", defaultValue = "64", paramLabel = "T", description = "max_tokens of each request (default: ${DEFAULT-VALUE}).")
    private int tokens;

    @Option(names = "--prompt", defaultValue = "\n", paramLabel = "TEXT",
            description = "Prompt of every request (default: a newline; with --config, the vocabulary's first character).")
    private String prompt;

    @Option(names = "--max-batch", paramLabel = "N", description = "Server batch (default: --clients).")
    private Integer maxBatch;

    @Option(names = "--no-monitor", description = "Serve with the drift monitor off (troupe serve --no-monitor).")
    private boolean noMonitor;

    @Option(names = "--rounds", defaultValue = "1", paramLabel = "K",
            description = "Measure 1 client and --clients clients K times, interleaved (1, N, 1, N, ...), and report the"
                    + " median speed-up with the load average of each round (default: ${DEFAULT-VALUE}).")
    private int rounds;

    @Option(names = "--warmup-seconds", defaultValue = "5", paramLabel = "S",
            description = "Before the measured rounds, serve --clients clients for at least S seconds, then one client once,"
                    + " unmeasured, so the JIT has compiled the serving path and the rounds measure a warm server; 0 for"
                    + " a one-request warm-up only (default: ${DEFAULT-VALUE}).")
    private double warmupSeconds;

    @Option(names = "--compare-monitor", paramLabel = "ROUNDS",
            description = "Instead: ROUNDS pairs of --clients x --requests with the drift monitor on and off in one server,"
                    + " interleaved (on-off, off-on, ...): the median of each side's p50 latencies, the paired median"
                    + " on/off ratio with a 95%% bootstrap interval, and the monitor's time on the request path"
                    + " (from /metrics). The monitor drains after each \"on\" side, so its deferred work never lands in an"
                    + " \"off\" request. Many short rounds (--clients 1 --requests 1 --tokens 32) give the tightest"
                    + " interval: bench/monitor-overhead.sh.")
    private Integer compareRounds;

    @Mixin
    private ThreadsOption threads;

    @Mixin
    private JsonOption json;

    @Override
    public Integer call() throws Exception {
        if (clients < 1 || requests < 1 || tokens < 1) {
            throw UserError.usage("--clients, --requests and --tokens must be at least 1");
        }
        int batch = maxBatch == null ? clients : maxBatch;
        if (batch < 1) {
            throw UserError.usage("--max-batch must be at least 1, got " + batch);
        }
        if ((model == null) == (config == null)) {
            throw UserError.usage("pass either --model DIR or --config NAME (a random-weight shape)");
        }
        if (kvCacheMib < 1) {
            throw UserError.usage("--kv-cache-mib must be at least 1, got " + kvCacheMib);
        }
        if (model != null && !Files.isDirectory(model)) {
            throw UserError.inputData("--model " + model + " is not a directory; pass the --out directory of a finished 'troupe train'");
        }
        if (config != null && prompt.equals("\n")) {
            prompt = "\u0100"; // a random-weight model's character vocabulary starts at U+0100 and has no newline
        }
        Path made = config == null ? null : io.troupe.ops.inference.DecodeBenchmark.randomModel(BenchDecodeCommand.shape(config), 1337);
        try {
            return serveAndMeasure(made != null ? made : model, batch);
        } finally {
            if (made != null) {
                io.troupe.ops.inference.DecodeBenchmark.delete(made);
            }
        }
    }

    private Integer serveAndMeasure(Path model, int batch) throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        ServeLimits limits = ServeLimits.defaults().withQueueLimit(Math.max(64, clients));
        try (OpenAiServer server = OpenAiServer.bind("127.0.0.1", 0, limits, null,
                MonitorSettings.defaults().withDrift(!noMonitor), line -> { })) {
            server.load(model, threads.threads(), batch, kvCacheMib << 20, line -> out.println("warning: " + line));
            ServeBenchmark bench = new ServeBenchmark("127.0.0.1", server.port(), prompt, tokens);
            bench.run(1, 1); // warm-up: session start-up and JIT
            if (compareRounds != null) {
                compareMonitor(out, server, bench, batch);
                return TroupeCli.EXIT_OK;
            }
            if (rounds < 1) {
                throw UserError.usage("--rounds must be at least 1, got " + rounds);
            }
            warmUp(out, bench);
            double[] speedUps = new double[rounds];
            for (int r = 0; r < rounds; r++) {
                ServeBenchmark.Result one = measured(out, server, bench, 1);
                ServeBenchmark.Result many = measured(out, server, bench, clients);
                speedUps[r] = many.tokensPerSecond() / one.tokensPerSecond();
                if (!json.enabled()) {
                    out.printf("aggregate speed-up with %d clients: %.2fx (batch %d, %s decoder, %d threads; load average %.1f)%n",
                            clients, speedUps[r], server.batchCapacity(), server.cached() ? "KV-cache" : "uncached",
                            threads.threads(), loadAverage());
                    out.flush();
                }
            }
            if (rounds > 1 && !json.enabled()) {
                java.util.Arrays.sort(speedUps);
                out.printf("median speed-up over %d interleaved rounds: %.2fx (min %.2fx, max %.2fx)%n", rounds,
                        quantile(speedUps, 0.5), speedUps[0], speedUps[rounds - 1]);
            }
        }
        return TroupeCli.EXIT_OK;
    }

    /**
     * Serves the measured load, unmeasured, for {@link #warmupSeconds} (then one client once): the
     * first thousands of tokens run while the JIT compiles the server, and a round measured then
     * times the compiler as much as the server. Says what it did, so nothing is hidden.
     */
    private void warmUp(PrintWriter out, ServeBenchmark bench) throws Exception {
        if (warmupSeconds < 0) {
            throw UserError.usage("--warmup-seconds must be at least 0, got " + warmupSeconds);
        }
        if (warmupSeconds == 0) {
            return;
        }
        long start = System.nanoTime();
        long deadline = start + (long) (warmupSeconds * 1e9);
        long tokensServed = 0;
        int runs = 0;
        do {
            tokensServed += bench.run(clients, requests).tokens();
            runs++;
        } while (System.nanoTime() < deadline);
        tokensServed += bench.run(1, requests).tokens();
        if (!json.enabled()) {
            out.printf("warm-up, not measured: %d runs of %d clients and one of 1 client, %,d tokens in %.1f s%n", runs,
                    clients, tokensServed, (System.nanoTime() - start) / 1e9);
            out.flush();
        }
    }

    /** One side of the comparison: the median over rounds of each p50. */
    record MonitorSide(String monitor, int rounds, double latencyP50Ms, double ttftP50Ms, double interTokenP50Ms,
            double tokensPerSecond) {
    }

    /**
     * Runs the same load with the monitor on and off in alternating order (on-off, off-on, ...)
     * so that the machine's other load falls on both sides alike, and reports the medians.
     */
    private void compareMonitor(PrintWriter out, OpenAiServer server, ServeBenchmark bench, int batch) throws Exception {
        if (compareRounds < 1) {
            throw UserError.usage("--compare-monitor must be at least 1 round, got " + compareRounds);
        }
        if (noMonitor) {
            throw UserError.usage("--compare-monitor turns the monitor on and off itself; drop --no-monitor");
        }
        List<ServeBenchmark.Result> on = new ArrayList<>();
        List<ServeBenchmark.Result> off = new ArrayList<>();
        String metricsUrl = "http://127.0.0.1:" + server.port() + "/metrics";
        double[] pathBefore = requestPathCounters(metricsUrl);
        double loadBefore = ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
        long monitorCpuBefore = monitorThreadCpuNanos();
        long processCpuBefore = processCpuNanos();
        long started = System.nanoTime();
        int undrained = 0;
        for (int r = 0; r < compareRounds; r++) {
            boolean onFirst = r % 2 == 0;
            for (boolean monitor : new boolean[] {onFirst, !onFirst}) {
                server.monitoring(monitor);
                ServeBenchmark.Result result = bench.run(clients, requests);
                (monitor ? on : off).add(result);
                if (monitor && !server.awaitMonitorIdle(2000)) {
                    // The texts of an "on" side are profiled before the next side starts, so none of the
                    // monitor's deferred work lands in an "off" request (it would pull the two sides together).
                    undrained++;
                }
                if (!json.enabled()) {
                    out.printf("round %d, monitor %-3s: latency p50 %8.2f ms, TTFT p50 %7.2f ms, inter-token p50 %6.2f ms,"
                            + " %8.1f tokens/s%n", r + 1, monitor ? "on" : "off", result.latencyP50Ms(), result.ttftP50Ms(),
                            result.interTokenP50Ms(), result.tokensPerSecond());
                    out.flush();
                }
            }
        }
        server.monitoring(true);
        double wallSeconds = (System.nanoTime() - started) / 1e9;
        double[] pathAfter = requestPathCounters(metricsUrl);
        long monitorCpu = monitorThreadCpuNanos() - monitorCpuBefore;
        long processCpu = processCpuNanos() - processCpuBefore;
        double loadAfter = ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
        double[] ratios = new double[on.size()];
        for (int i = 0; i < ratios.length; i++) {
            ratios[i] = on.get(i).latencyP50Ms() / off.get(i).latencyP50Ms();
        }
        java.util.Arrays.sort(ratios);
        MonitorSide withMonitor = side("on", on);
        MonitorSide without = side("off", off);
        double[] interval = bootstrapMedianInterval(ratios, 2000, 95);
        long onRequests = (long) compareRounds * clients * requests;
        double pathSeconds = pathAfter[0] - pathBefore[0];
        double pathCalls = pathAfter[1] - pathBefore[1];
        double pathMicrosPerRequest = 1e6 * pathSeconds / onRequests;
        double[] buckets = new double[pathAfter.length - 2];
        for (int i = 0; i < buckets.length; i++) {
            buckets[i] = pathAfter[i + 2] - pathBefore[i + 2];
        }
        double callP50Micros = 1e6 * bucketQuantile(buckets, 0.5);
        double callP99Micros = 1e6 * bucketQuantile(buckets, 0.99);
        Direct direct = new Direct(onRequests, (long) pathCalls, pathMicrosPerRequest, callP50Micros, callP99Micros,
                100 * pathMicrosPerRequest / (1e3 * withMonitor.latencyP50Ms()), 100 * (quantile(ratios, 0.5) - 1),
                100 * (interval[0] - 1), 100 * (interval[1] - 1), loadBefore, loadAfter, wallSeconds, undrained);
        if (json.enabled()) {
            Json.printLine(out, withMonitor);
            Json.printLine(out, without);
            Json.printLine(out, direct);
        } else {
            out.printf("median of %d rounds, %d clients x %d requests x %d tokens (batch %d, %d threads): latency p50 %.2f ms"
                    + " with the monitor vs %.2f ms without (%+.2f%%); TTFT p50 %.2f vs %.2f ms; inter-token p50 %.3f vs"
                    + " %.3f ms%n", compareRounds, clients, requests, tokens, batch, threads.threads(),
                    withMonitor.latencyP50Ms(), without.latencyP50Ms(),
                    100 * (withMonitor.latencyP50Ms() / without.latencyP50Ms() - 1), withMonitor.ttftP50Ms(),
                    without.ttftP50Ms(), withMonitor.interTokenP50Ms(), without.interTokenP50Ms());
            out.printf("paired rounds, latency p50 on/off: median %+.2f%%, quartiles %+.2f%% .. %+.2f%%%n",
                    100 * (quantile(ratios, 0.5) - 1), 100 * (quantile(ratios, 0.25) - 1), 100 * (quantile(ratios, 0.75) - 1));
            out.printf("paired median's 95%% bootstrap interval: %+.2f%% .. %+.2f%% (%s a 2%% difference)%n",
                    direct.pairedIntervalLowPercent(), direct.pairedIntervalHighPercent(),
                    direct.pairedIntervalHighPercent() - direct.pairedIntervalLowPercent() < 4 ? "resolves" : "too wide to resolve");
            out.printf("request path: %.2f us per request in the monitor (%d calls over %d requests with it on) = %.4f%% of"
                    + " the p50 latency with it on; per call: p50 <= %.2f us, p99 <= %.2f us (histogram bucket bounds;"
                    + " the mean includes calls preempted mid-way)%n", pathMicrosPerRequest, (long) pathCalls, onRequests,
                    direct.requestPathPercentOfP50(), callP50Micros, callP99Micros);
            out.printf("drift monitor thread CPU: %.1f ms of the process's %.1f ms (%.2f%%); load average %.1f before,"
                    + " %.1f after (%d CPUs)%n", monitorCpu / 1e6, processCpu / 1e6, 100.0 * monitorCpu / Math.max(1,
                    processCpu), loadBefore, loadAfter, Runtime.getRuntime().availableProcessors());
            out.printf("%d rounds in %.0f s; the monitor drained after every \"on\" side%s%n", compareRounds, wallSeconds,
                    undrained == 0 ? "" : " but " + undrained + " (not within 2 s)");
        }
        out.flush();
    }

    /**
     * The monitor's cost measured two ways: directly, the time request threads spent in it (from
     * /metrics), and as the paired on/off latency ratio with its bootstrap interval.
     */
    record Direct(long onRequests, long requestPathCalls, double requestPathMicrosPerRequest,
            double requestPathCallP50Micros, double requestPathCallP99Micros, double requestPathPercentOfP50,
            double pairedMedianPercent, double pairedIntervalLowPercent, double pairedIntervalHighPercent,
            double loadBefore, double loadAfter, double wallSeconds, int undrainedSides) {
    }

    /**
     * A percentile bootstrap interval of the median of {@code values} (seeded, so a run can be
     * repeated): the range the paired median would move over if the rounds were drawn again.
     */
    static double[] bootstrapMedianInterval(double[] values, int resamples, double confidencePercent) {
        java.util.Random random = new java.util.Random(42);
        double[] medians = new double[resamples];
        double[] draw = new double[values.length];
        for (int b = 0; b < resamples; b++) {
            for (int i = 0; i < draw.length; i++) {
                draw[i] = values[random.nextInt(values.length)];
            }
            java.util.Arrays.sort(draw);
            medians[b] = quantile(draw, 0.5);
        }
        java.util.Arrays.sort(medians);
        double tail = (100 - confidencePercent) / 200;
        return new double[] {quantile(medians, tail), quantile(medians, 1 - tail)};
    }

    /** The request-path histogram's bucket upper bounds, seconds: 100 ns doubling, as MonitorMetrics declares it. */
    private static final int PATH_BUCKETS = 22;

    /**
     * The monitor's request-path histogram so far, scraped from the server's own /metrics: its
     * sum (seconds), its count, then the cumulative count of each bucket.
     */
    private static double[] requestPathCounters(String metricsUrl) throws Exception {
        String text = java.net.http.HttpClient.newHttpClient().send(java.net.http.HttpRequest.newBuilder(
                java.net.URI.create(metricsUrl)).build(), java.net.http.HttpResponse.BodyHandlers.ofString()).body();
        String name = "troupe_serve_monitor_request_path_seconds";
        double[] out = new double[2 + PATH_BUCKETS];
        out[0] = sample(text, name + "_sum ");
        out[1] = sample(text, name + "_count ");
        String bucket = name + "_bucket{le=\"";
        for (String line : text.split("\n")) {
            if (line.startsWith(bucket) && !line.startsWith(bucket + "+Inf")) {
                double le = Double.parseDouble(line.substring(bucket.length(), line.indexOf('"', bucket.length())));
                int i = (int) Math.round(Math.log(le / 1e-7) / Math.log(2));
                if (i >= 0 && i < PATH_BUCKETS) {
                    out[2 + i] = Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
                }
            }
        }
        return out;
    }

    /**
     * The upper bound of the bucket holding quantile {@code q} of the calls, seconds, from
     * cumulative bucket counts (an upper estimate: the calls are at most that long).
     */
    static double bucketQuantile(double[] cumulative, double q) {
        double total = cumulative.length == 0 ? 0 : cumulative[cumulative.length - 1];
        for (int i = 0; i < cumulative.length; i++) {
            if (total > 0 && cumulative[i] >= q * total) {
                return 1e-7 * Math.pow(2, i);
            }
        }
        return Double.NaN;
    }

    private static double sample(String metrics, String prefix) {
        for (String line : metrics.split("\n")) {
            if (line.startsWith(prefix)) {
                return Double.parseDouble(line.substring(prefix.length()).trim());
            }
        }
        return 0;   // not exported before the first call
    }

    private static double quantile(double[] sorted, double q) {
        double at = q * (sorted.length - 1);
        int low = (int) Math.floor(at);
        int high = Math.min(sorted.length - 1, low + 1);
        return sorted[low] + (at - low) * (sorted[high] - sorted[low]);
    }

    /** CPU time of the drift monitor's threads so far (the monitor's whole cost besides one queue offer per text). */
    private static long monitorThreadCpuNanos() {
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        long total = 0;
        for (ThreadInfo info : threads.getThreadInfo(threads.getAllThreadIds())) {
            if (info != null && info.getThreadName().equals("troupe-drift-monitor")) {
                total += Math.max(0, threads.getThreadCpuTime(info.getThreadId()));
            }
        }
        return total;
    }

    private static long processCpuNanos() {
        return ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os
                ? os.getProcessCpuTime() : 0;
    }

    private static MonitorSide side(String name, List<ServeBenchmark.Result> results) {
        return new MonitorSide(name, results.size(), median(results, ServeBenchmark.Result::latencyP50Ms),
                median(results, ServeBenchmark.Result::ttftP50Ms), median(results, ServeBenchmark.Result::interTokenP50Ms),
                median(results, ServeBenchmark.Result::tokensPerSecond));
    }

    private static double median(List<ServeBenchmark.Result> results, ToDoubleFunction<ServeBenchmark.Result> value) {
        double[] v = results.stream().mapToDouble(value).sorted().toArray();
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }

    /** Runs one load level and reports it with the CPU time it took per generated token, by thread group. */
    private ServeBenchmark.Result measured(PrintWriter out, OpenAiServer server, ServeBenchmark bench, int n) throws Exception {
        double load = loadAverage();
        long[] stepsBefore = server.decodeSteps();
        CpuByGroup before = CpuByGroup.now();
        ServeBenchmark.Result result = bench.run(n, requests);
        CpuByGroup spent = CpuByGroup.now().minus(before).withClients(result.clientThreadCpuNanos());
        long[] stepsAfter = server.decodeSteps();
        report(out, result);
        if (!json.enabled()) {
            double perToken = 1e6 * Math.max(1, result.tokens());
            long steps = stepsAfter[0] - stepsBefore[0];
            // How full the batch ran: below the client count, the clients' turnaround between requests left slots idle.
            out.printf("    CPU per token: %.3f ms in all (scheduler thread %.3f, ORT's other threads and the JVM's %.3f,"
                            + " server %.3f, in-process clients %.3f); mean batch %.1f over %,d decode steps; load average %.1f"
                            + " before%n", spent.process / perToken, spent.scheduler / perToken, spent.other() / perToken,
                    spent.server / perToken, spent.clients / perToken,
                    (stepsAfter[1] - stepsBefore[1]) / (double) Math.max(1, steps), steps, load);
            out.flush();
        }
        return result;
    }

    private static double loadAverage() {
        return ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
    }

    /**
     * CPU nanoseconds of the process and of its Java threads by role. ONNX Runtime's intra-op
     * pool threads are native, so they are in {@link #other()} with the JVM's own (GC, JIT).
     */
    private record CpuByGroup(long process, long scheduler, long server, long clients, long java) {
        static CpuByGroup now() {
            ThreadMXBean mx = ManagementFactory.getThreadMXBean();
            long scheduler = 0;
            long server = 0;
            long clients = 0;
            long java = 0;
            for (ThreadInfo info : mx.getThreadInfo(mx.getAllThreadIds())) {
                if (info == null || info.getThreadName().startsWith("pool-")) {
                    continue; // the benchmark's client threads end with each run; ServeBenchmark counts them
                }
                long cpu = Math.max(0, mx.getThreadCpuTime(info.getThreadId()));
                String name = info.getThreadName();
                java += cpu;
                if (name.equals("troupe-batch-scheduler")) {
                    scheduler += cpu;
                } else if (name.startsWith("troupe-serve")) {
                    server += cpu;
                } else if (name.startsWith("HttpClient")) {
                    clients += cpu; // java.net.http threads (the /metrics scrape); the load-generating threads are counted by ServeBenchmark
                }
            }
            return new CpuByGroup(processCpuNanos(), scheduler, server, clients, java);
        }

        /** Differences; threads that ended in between make the Java groups slightly low, never negative overall. */
        CpuByGroup minus(CpuByGroup earlier) {
            return new CpuByGroup(process - earlier.process, scheduler - earlier.scheduler, server - earlier.server,
                    Math.max(0, clients - earlier.clients), java - earlier.java);
        }

        /** Adds the CPU time of the benchmark's own client threads, which end with the run. */
        CpuByGroup withClients(long clientThreads) {
            return new CpuByGroup(process, scheduler, server, clients + clientThreads, java + clientThreads);
        }

        long other() {
            return Math.max(0, process - java) + Math.max(0, java - scheduler - server - clients);
        }
    }

    private void report(PrintWriter out, ServeBenchmark.Result r) {
        if (json.enabled()) {
            Json.printLine(out, r);
        } else {
            out.printf("%2d clients: %,6d tokens in %6.2f s = %8.1f tokens/s  TTFT p50 %7.1f ms p99 %7.1f ms  "
                            + "inter-token p50 %6.2f ms p99 %6.2f ms%n", r.clients(), r.tokens(), r.seconds(), r.tokensPerSecond(),
                    r.ttftP50Ms(), r.ttftP99Ms(), r.interTokenP50Ms(), r.interTokenP99Ms());
        }
        out.flush();
    }
}
