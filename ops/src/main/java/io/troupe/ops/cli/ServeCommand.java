package io.troupe.ops.cli;

import io.troupe.ops.dashboard.ServeDashboard;
import io.troupe.ops.serve.OpenAiServer;
import io.troupe.ops.serve.ServeLimits;
import io.troupe.ops.serve.monitor.MonitorSettings;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code troupe serve}: an OpenAI-compatible HTTP server over an exported model, with continuous batching. */
@Command(name = "serve", description = {"Serve an exported model over an OpenAI-compatible HTTP API.",
            "POST /v1/completions and /v1/chat/completions (streaming as server-sent events) for a language model, "
                    + "POST /v1/classify for a classifier, POST /v1/embeddings for an encoder, POST /v1/translate for a"
                    + " seq2seq model, POST /v1/explain, POST /v1/feedback (with --feedback-dir), GET /v1/models, /health (drift, feedback and live accuracy in its details) and /metrics. Runs until interrupted."}, mixinStandardHelpOptions = true)
final class ServeCommand implements Callable<Integer> {

    @Spec
    private CommandSpec spec;

    @Option(names = "--model", paramLabel = "DIR", description = "Directory with model.onnx and tokenizer.json.")
    private Path model;

    @Option(names = "--watch", paramLabel = "RUN_DIR",
            description = "Serve the newest model of a training run (its export, or a newer checkpoint) instead of --model, "
                    + "and swap to a newer one when it appears; requests in flight finish on the model they started on.")
    private Path watch;

    @Option(names = "--watch-interval", defaultValue = "10", paramLabel = "SECONDS",
            description = "How often --watch looks for a newer model (default: ${DEFAULT-VALUE}).")
    private int watchInterval;

    @Option(names = "--bind", defaultValue = "127.0.0.1:8080", paramLabel = "HOST:PORT",
            description = "Address to listen on (default: ${DEFAULT-VALUE}, this machine only). Another host needs --api-key-file.")
    private String bind;

    @Option(names = "--api-key-file", paramLabel = "FILE",
            description = "File holding the API key clients must send as 'Authorization: Bearer KEY'.")
    private Path apiKeyFile;

    @Option(names = "--tls", paramLabel = "DIR",
            description = "Serve HTTPS with the coordinator certificate 'troupe secret init DIR' wrote (clients trust"
                    + " DIR/ca.crt; the host they dial must be one of secret init's --san names, by default localhost and"
                    + " 127.0.0.1). Default: plain HTTP.")
    private Path tls;

    @Option(names = "--max-batch", defaultValue = "8", paramLabel = "N",
            description = "Sequences decoded together in one batched step (default: ${DEFAULT-VALUE}).")
    private int maxBatch;

    @Option(names = "--kv-cache-mib", defaultValue = "1024", paramLabel = "MIB",
            description = "Memory for the sequences' KV caches; --max-batch is lowered to the caches that fit "
                    + "(default: ${DEFAULT-VALUE}).")
    private long kvCacheMib;

    @Option(names = "--queue-limit", defaultValue = "64", paramLabel = "N",
            description = "Requests that may wait for a batch slot; beyond them the server answers 429 (default: ${DEFAULT-VALUE}).")
    private int queueLimit;

    /** --dashboard: request rate, drift, prompt perplexity and live accuracy over time. */
    @Mixin
    private DashboardOptions dashboard;

    @Option(names = "--no-monitor",
            description = "Do not profile incoming texts for drift (feedback and /health still work).")
    private boolean noMonitor;

    @Option(names = "--drift-window", defaultValue = "200", paramLabel = "N",
            description = "Incoming texts the drift PSI is computed over (default: ${DEFAULT-VALUE}).")
    private int driftWindow;

    @Option(names = "--drift-threshold", defaultValue = "0.25", paramLabel = "PSI",
            description = "Token or length PSI above which /health says drift and a line is logged (default: ${DEFAULT-VALUE}).")
    private double driftThreshold;

    @Option(names = "--reference-data", paramLabel = "FILE",
            description = "Example texts, one per line, to build the drift reference profile from at start, instead of"
                    + " the stored profile or the training data the run names (for a model without them, e.g. an imported"
                    + " encoder); kept in memory, not stored.")
    private Path referenceData;

    @Option(names = "--feedback-dir", paramLabel = "DIR",
            description = "Where POST /v1/feedback appends DIR/feedback.jsonl (fsynced, rotated); without it feedback is off.")
    private Path feedbackDir;

    @Option(names = "--feedback-max-mib", defaultValue = "64", paramLabel = "MIB",
            description = "Size at which feedback.jsonl is rotated; 4 rotated files are kept (default: ${DEFAULT-VALUE}).")
    private long feedbackMaxMib;

    @Option(names = "--accuracy-alert", defaultValue = "0.8", paramLabel = "A",
            description = "A classifier's live accuracy over labelled feedback under which /health says alert; 0 turns it"
                    + " off (default: ${DEFAULT-VALUE}).")
    private double accuracyAlert;

    @Mixin
    private ThreadsOption threads;

    /** The monitor's settings from the options; refuses values out of range. */
    private MonitorSettings monitorSettings() {
        if (driftWindow < 10) {
            throw new ParameterException(spec.commandLine(), "--drift-window must be at least 10 texts, got " + driftWindow);
        }
        if (!(driftThreshold > 0)) {
            throw new ParameterException(spec.commandLine(), "--drift-threshold must be > 0, got " + driftThreshold);
        }
        if (feedbackMaxMib < 1) {
            throw new ParameterException(spec.commandLine(), "--feedback-max-mib must be at least 1, got " + feedbackMaxMib);
        }
        if (!(accuracyAlert >= 0 && accuracyAlert <= 1)) {
            throw new ParameterException(spec.commandLine(), "--accuracy-alert must be in [0, 1], got " + accuracyAlert);
        }
        if (referenceData != null && !Files.isRegularFile(referenceData)) {
            throw UserError.usage("--reference-data " + referenceData + " is not a file; give a text file with one"
                    + " example request per line");
        }
        if (referenceData != null && noMonitor) {
            throw UserError.usage("--reference-data builds the drift profile, and --no-monitor turns drift off; drop one");
        }
        MonitorSettings d = MonitorSettings.defaults().withReferenceData(referenceData);
        return d.withDrift(!noMonitor).withWindow(driftWindow, Math.min(d.minTexts(), driftWindow), driftThreshold)
                .withFeedback(feedbackDir, feedbackMaxMib << 20, 4)
                .withAccuracy(d.accuracyWindow(), accuracyAlert, d.minLabelled());
    }

    @Override
    public Integer call() throws Exception {
        if (maxBatch < 1) {
            throw new ParameterException(spec.commandLine(), "--max-batch must be at least 1, got " + maxBatch);
        }
        if (queueLimit < 1) {
            throw new ParameterException(spec.commandLine(), "--queue-limit must be at least 1, got " + queueLimit);
        }
        if (kvCacheMib < 1) {
            throw new ParameterException(spec.commandLine(), "--kv-cache-mib must be at least 1, got " + kvCacheMib);
        }
        MonitorSettings monitor = monitorSettings();
        boolean withDashboard = dashboard.given();
        HostPort address = HostPort.parse(bind, "--bind");
        String apiKey = apiKeyFile == null ? null : readApiKey(apiKeyFile);
        if (apiKey == null && !isLoopback(address.host())) {
            throw UserError.usage("--bind " + address + " is reachable from other machines; give --api-key-file FILE too, "
                    + "or bind 127.0.0.1");
        }
        if ((model == null) == (watch == null)) {
            throw new ParameterException(spec.commandLine(), "give either --model DIR or --watch RUN_DIR");
        }
        if (watchInterval < 1) {
            throw new ParameterException(spec.commandLine(), "--watch-interval must be at least 1 second, got " + watchInterval);
        }
        Path source = model != null ? model : watch;
        if (!Files.isDirectory(source)) {
            throw UserError.inputData((model != null ? "--model " : "--watch ") + source + " is not a directory; pass the "
                    + "--out directory of " + (model != null ? "a finished 'troupe train' or 'troupe export'" : "a training run"));
        }
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        Consumer<String> warn = line -> {
            err.println("troupe: warning: " + line);
            err.flush();
        };
        javax.net.ssl.SSLContext https = tls == null ? null
                : io.troupe.worker.tls.ClusterTls.load(tls, io.troupe.worker.tls.ClusterTls.Role.COORDINATOR).context();
        OpenAiServer server = OpenAiServer.bind(address.host(), address.port(), ServeLimits.defaults().withQueueLimit(queueLimit),
                apiKey, monitor, line -> {
                    out.println("troupe serve: " + line);
                    out.flush();
                }, https);
        CountDownLatch stop = new CountDownLatch(1);
        RunWatcher watcher = null;
        ScheduledExecutorService looking = null;
        try (StopOnSignal signal = StopOnSignal.install(stop::countDown)) {
            try {
                if (watch != null) {
                    String id = OpenAiServer.modelId(watch);
                    watcher = new RunWatcher(watch, dir -> server.swap(dir, id, threads.threads(), maxBatch, kvCacheMib << 20,
                            warn), line -> {
                                out.println(line);
                                out.flush();
                            });
                    if (!watcher.check()) {
                        warn.accept("--watch " + watch + " has no model to serve yet; /health answers 503 until one "
                                + "appears (checked every " + watchInterval + " s)");
                    }
                    RunWatcher w = watcher;
                    looking = Executors.newSingleThreadScheduledExecutor(r -> {
                        Thread t = new Thread(r, "troupe-watch");
                        t.setDaemon(true);
                        return t;
                    });
                    looking.scheduleWithFixedDelay(w::check, watchInterval, watchInterval, TimeUnit.SECONDS);
                } else {
                    try (ServeStartupProgress startup = new ServeStartupProgress(out, System.console() != null)) {
                        server.load(model, threads.threads(), maxBatch, kvCacheMib << 20, warn, startup);
                    }
                }
            } catch (IllegalArgumentException e) {
                server.close();
                throw UserError.usage("--kv-cache-mib " + kvCacheMib + " is too small: " + e.getMessage(), e);
            } catch (Exception e) {
                server.close();
                throw e;
            }
            out.println("troupe serve: " + source + " on " + (https != null ? "https" : "http") + "://" + address.host() + ":" + server.port()
                    + " (batch " + server.batchCapacity() + (server.cached() ? ", KV cache" : "") + ", queue " + queueLimit
                    + (apiKey == null ? ", no API key" : ", API key required") + (watch != null ? ", watching the run" : "")
                    + (noMonitor ? ", drift monitor off" : "") + (feedbackDir != null ? ", feedback to " + feedbackDir : "")
                    + "); Ctrl-C stops");
            out.flush();
            try (ServeDashboard feed = withDashboard ? ServeDashboard.start(server.registry(), java.time.Clock.systemUTC(),
                         java.time.Duration.ofSeconds(1)) : null;
                 DashboardOptions.AutoCloseableServer page = withDashboard ? dashboard.serve(err, feed) : () -> { }) {
                stop.await();
            } finally {
                if (looking != null) {
                    looking.shutdownNow();
                }
                server.close();
            }
        } finally {
            if (watcher != null) {
                watcher.close();
            }
        }
        return TroupeCli.EXIT_OK;
    }

    private static String readApiKey(Path file) {
        String key;
        try {
            key = Files.readString(file, StandardCharsets.UTF_8).strip();
        } catch (IOException e) {
            String why = e instanceof java.nio.file.NoSuchFileException ? "it does not exist"
                    : e instanceof java.nio.file.AccessDeniedException ? "permission denied" : "I/O error";
            throw UserError.inputData("cannot read --api-key-file " + file + " (" + why
                    + "); check the path and its permissions", e);
        }
        if (key.isEmpty() || key.contains("\n")) {
            throw UserError.inputData("--api-key-file " + file + " must hold the key on one non-empty line");
        }
        return key;
    }

    private static boolean isLoopback(String host) {
        try {
            return InetAddress.getByName(host).isLoopbackAddress();
        } catch (UnknownHostException e) {
            throw UserError.usage("--bind has an unknown host '" + host + "'", e);
        }
    }
}
