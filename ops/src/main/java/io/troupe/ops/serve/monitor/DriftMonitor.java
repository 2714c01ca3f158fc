package io.troupe.ops.serve.monitor;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Watches the texts one served model is sent (a language model, classifier or encoder: a
 * {@link MonitoredModel}), against its {@link ReferenceProfile}. A request
 * thread only offers its text to a bounded queue ({@link #observe}: no tokenizing, no waiting; a
 * full queue drops the text and counts it); one daemon thread does the rest: it loads the
 * reference (or computes it once from the run's data, and stores it), tokenizes, updates the
 * {@link DriftWindow}, scores a bounded sample of prompts under the model, and publishes the
 * metrics and the status. The scoring is held to at most 2% of that thread's time and
 * skipped while texts wait, so it never holds back the texts' counting.
 */
public final class DriftMonitor implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(DriftMonitor.class);
    private static final int QUEUE = 1024;
    private static final long PUBLISH_NANOS = TimeUnit.MILLISECONDS.toNanos(200);
    /** How long the monitor thread sleeps when no text waits: texts are profiled at most this late. */
    private static final long DRAIN_NANOS = TimeUnit.MILLISECONDS.toNanos(20);
    /**
     * Scoring may take at most 1 / (1 + IDLE_FACTOR) of the monitor thread's (wall) time: 2%.
     * At 10% it cost the served requests ~1% of the process's CPU on a tiny model (a forward pass
     * per sampled prompt), which shows in latency on a saturated machine; 2% still scores
     * several prompts a second.
     */
    private static final int IDLE_FACTOR = 49;

    /** The monitor's verdict on the window; NO_REFERENCE when there is no profile to compare with. */
    public enum Status { WARMING_UP, OK, DRIFT, NO_REFERENCE, OFF }

    private final Path dir;
    final String modelId;
    final long generation;
    private final MonitoredModel model;
    private final MonitorSettings settings;
    private final MonitorMetrics metrics;
    private final Consumer<String> say;
    private final Current current;
    private final LenientEncoder encoder;
    private final DriftWindow window;
    /**
     * Texts waiting for the monitor thread. Lock-free and never signalled: the monitor thread
     * drains it and parks {@link #DRAIN_NANOS} when it is empty. A blocking queue's offer wakes
     * the waiting thread, and on an oversubscribed machine the scheduler can switch to it there
     * and then, mid-request (measured: a p50 of ~50 us and a p99 of ~13 ms per offer at load 80).
     */
    private final java.util.concurrent.ConcurrentLinkedQueue<String> texts = new java.util.concurrent.ConcurrentLinkedQueue<>();
    /** How many texts are in {@link #texts}: bounds it at {@value #QUEUE} without a lock. */
    private final java.util.concurrent.atomic.AtomicInteger waiting = new java.util.concurrent.atomic.AtomicInteger();
    private final Thread thread;
    private volatile ReferenceProfile reference;
    private volatile String referenceProblem;
    private volatile Status status = Status.WARMING_UP;
    private volatile boolean closed;
    private final java.util.concurrent.atomic.AtomicLong offered = new java.util.concurrent.atomic.AtomicLong();
    private final java.util.concurrent.atomic.AtomicLong counted = new java.util.concurrent.atomic.AtomicLong();
    private long lastPublish;
    private long scoringFreeAt;

    /** Whether a monitor is the one of the model served now, the only one that publishes metrics. */
    interface Current {
        boolean is(DriftMonitor monitor);
    }

    DriftMonitor(Path dir, String modelId, long generation, MonitoredModel model, MonitorSettings settings,
            MonitorMetrics metrics, Consumer<String> say, Current current) {
        this.dir = dir;
        this.modelId = modelId;
        this.generation = generation;
        this.model = model;
        this.settings = settings;
        this.metrics = metrics;
        this.say = say;
        this.current = current;
        this.encoder = new LenientEncoder(model.tokenizer());
        this.window = new DriftWindow(settings.window(), encoder.bins());
        this.thread = new Thread(this::run, "troupe-drift-monitor");
        thread.setDaemon(true);
        if (settings.drift()) {
            thread.start();
        } else {
            status = Status.OFF;
        }
    }

    /** Counts a text toward the window, later, on the monitor's thread; never blocks. */
    public void observe(String text) {
        if (closed || !settings.drift()) {
            return;
        }
        long start = System.nanoTime();
        if (waiting.incrementAndGet() <= QUEUE) {
            texts.add(text);
            offered.incrementAndGet();
        } else {
            waiting.decrementAndGet();
            metrics.droppedTexts.inc();
        }
        requestPath(start);
    }

    /** A classifier's top-class probability for one text (computed by the request already). */
    public void observeConfidence(double p) {
        if (settings.drift()) {
            long start = System.nanoTime();
            window.addConfidence(p);
            requestPath(start);
        }
    }

    /**
     * Adds one call's time to the request-path histogram, so the monitor's direct cost to a request
     * can be read off /metrics (troupe bench serve --compare-monitor does) rather than only inferred
     * from noisy latency differences. The two clock reads are counted in the call they time.
     */
    private void requestPath(long start) {
        metrics.requestPathSeconds.observe((System.nanoTime() - start) / 1e9);
    }

    /** The model directory watched. */
    Path dir() {
        return dir;
    }

    /** True for a classifier. */
    boolean classifies() {
        return model.classifier() != null;
    }

    /** The current status. */
    public Status status() {
        return status;
    }

    /** The reference profile, once loaded or computed; null before, or when there is none. */
    public ReferenceProfile reference() {
        return reference;
    }

    /** The window's numbers now. */
    DriftWindow.Snapshot snapshot() {
        return window.snapshot(reference);
    }

    /** The {@code drift} entry of /health details. */
    ObjectNode health(ObjectMapper json) {
        ObjectNode o = json.createObjectNode();
        o.put("status", status.name().toLowerCase(Locale.ROOT));
        o.put("threshold", settings.driftThreshold());
        if (status == Status.OFF) {
            return o;
        }
        DriftWindow.Snapshot s = snapshot();
        o.put("window_texts", s.texts());
        o.put("texts_counted", counted.get()); // every text counted since the model was loaded
        ObjectNode psi = o.putObject("psi");
        put(psi, "tokens", s.tokenPsi());
        put(psi, "length", s.lengthPsi());
        put(o, "unknown_token_share", s.unknownShare());
        MonitoredModel.PerplexityKind kind = model.perplexityKind();
        if (kind != MonitoredModel.PerplexityKind.NONE) {
            o.put("perplexity", kind.label());
            put(o, "prompt_perplexity", s.perplexity());
            put(o, "reference_perplexity", reference == null ? Double.NaN : reference.perplexity());
        } else {
            o.put("perplexity", model.noPerplexityReason());
        }
        if (classifies()) {
            put(o, "confidence", s.confidence());
            put(o, "reference_confidence", reference == null ? Double.NaN : reference.confidence());
        }
        if (referenceProblem != null) {
            o.put("reference", referenceProblem);
        }
        return o;
    }

    static void put(ObjectNode o, String key, double v) {
        if (Double.isNaN(v)) {
            o.putNull(key);
        } else {
            o.put(key, v);
        }
    }

    private void run() {
        loadReference();
        while (!closed) {
            String text = texts.poll();
            if (text == null) {
                java.util.concurrent.locks.LockSupport.parkNanos(DRAIN_NANOS);    // close() unparks by interrupting
            } else {
                waiting.decrementAndGet();
                LenientEncoder.Encoded encoded = encoder.encode(text);
                window.add(encoded);
                score(encoded);
                counted.incrementAndGet();
            }
            long now = System.nanoTime();
            if (now - lastPublish >= PUBLISH_NANOS) {
                lastPublish = now;
                publish();
            }
        }
    }

    /** The stored reference, else one computed from the run's data and stored (best effort). */
    private void loadReference() {
        try {
            Path given = settings.referenceData();
            if (given != null) {
                long start = System.nanoTime();
                reference = ReferenceProfiles.ofTexts(model, given, () -> closed);
                say.accept(String.format(Locale.ROOT, "reference profile computed from --reference-data %s in %.1f s"
                        + " (%d texts; kept in memory, computed again at every start)", given,
                        (System.nanoTime() - start) / 1e9, reference.texts()));
                return;
            }
            ReferenceProfile stored = ReferenceProfile.read(dir);
            String type = encoder.bins() + " " + model.tokenizer().type();
            if (stored != null && (stored.tokens().length + " " + stored.tokenizer()).equals(type)) {
                reference = stored;
                return;
            }
            Path data = ReferenceProfiles.dataOf(dir);
            say.accept("no stored reference profile in " + dir + (stored != null ? " for this tokenizer" : "")
                    + "; computing it once from " + data + " (train, finetune and export store one)");
            long start = System.nanoTime();
            ReferenceProfile computed = ReferenceProfiles.of(model, data, () -> closed);
            reference = computed;
            try {
                computed.write(dir);
                say.accept(String.format(Locale.ROOT, "reference profile computed in %.1f s and stored in %s",
                        (System.nanoTime() - start) / 1e9, dir.resolve(ReferenceProfile.FILE_NAME)));
            } catch (java.io.IOException e) {
                say.accept("reference profile computed, but not stored (" + e.getMessage() + "); the next start computes"
                        + " it again");
            }
        } catch (java.util.concurrent.CancellationException closing) {
            return;
        } catch (Exception e) {
            if (closed) {
                return;
            }
            referenceProblem = "no reference profile: " + e.getMessage() + (settings.referenceData() != null ? ""
                    : "; give troupe serve --reference-data FILE (example texts, one per line) to build one at start");
            say.accept(referenceProblem + "; drift is not measured (the window"
                    + (model.perplexityKind() != MonitoredModel.PerplexityKind.NONE ? " and perplexity" : "")
                    + " still are)");
        }
    }

    /**
     * Scores a prompt under the language model when the monitor has time: nothing waits and the
     * last score's cost has been paid back {@value #IDLE_FACTOR} times over in idle time.
     */
    private void score(LenientEncoder.Encoded text) {
        long now = System.nanoTime();
        if (model.perplexityKind() == MonitoredModel.PerplexityKind.NONE || !texts.isEmpty() || now < scoringFreeAt) {
            return;
        }
        try {
            MonitoredModel.Loss r = model.score(text.ids());
            if (r != null) {
                window.addLoss(r.meanLoss(), r.tokens());
            }
        } catch (Exception e) {
            if (!closed) {
                log.warn("scoring a prompt for the drift monitor failed", e);
            }
        }
        long end = System.nanoTime();
        scoringFreeAt = end + (end - now) * IDLE_FACTOR;
    }

    private void publish() {
        if (!current.is(this)) {
            return;
        }
        DriftWindow.Snapshot s = snapshot();
        set(metrics.psi.labelValues("tokens"), s.tokenPsi());
        set(metrics.psi.labelValues("length"), s.lengthPsi());
        metrics.windowTexts.set(s.texts());
        set(metrics.unknownShare, s.unknownShare());
        metrics.publishPerplexityKind(model.perplexityKind());
        boolean perplexity = model.perplexityKind() != MonitoredModel.PerplexityKind.NONE;
        // NaN where the statistic does not exist for this kind of model: never a 0 that looks measured.
        set(metrics.promptPerplexity, perplexity ? s.perplexity() : Double.NaN);
        set(metrics.referencePerplexity, perplexity && reference != null ? reference.perplexity() : Double.NaN);
        set(metrics.confidence, classifies() ? s.confidence() : Double.NaN);
        Status next = reference == null ? (referenceProblem != null ? Status.NO_REFERENCE : Status.WARMING_UP)
                : Double.isNaN(s.maxPsi()) || s.texts() < settings.minTexts()
                ? Status.WARMING_UP : s.maxPsi() > settings.driftThreshold() ? Status.DRIFT : Status.OK;
        Status previous = status;
        status = next;
        metrics.drift.set(next == Status.DRIFT ? 1 : 0);
        if (next == Status.DRIFT && previous != Status.DRIFT) {
            say.accept(String.format(Locale.ROOT, "drift: the last %d texts differ from the training data (PSI tokens"
                    + " %.3f, length %.3f > %.2f)", s.texts(), s.tokenPsi(), s.lengthPsi(), settings.driftThreshold()));
        } else if (previous == Status.DRIFT && next == Status.OK) {
            say.accept(String.format(Locale.ROOT, "drift over: PSI tokens %.3f, length %.3f <= %.2f", s.tokenPsi(),
                    s.lengthPsi(), settings.driftThreshold()));
        }
    }

    private static void set(io.prometheus.metrics.core.datapoints.GaugeDataPoint gauge, double v) {
        gauge.set(Double.isNaN(v) ? Double.NaN : v);
    }

    /** True when every text offered so far has been counted: the monitor thread has nothing left to do for them. */
    public boolean idle() {
        return counted.get() >= offered.get() || !thread.isAlive();
    }

    /** Waits until every text offered so far has been counted (tests). */
    void drain() throws InterruptedException {
        while (counted.get() < offered.get() && thread.isAlive()) {
            Thread.sleep(5);
        }
        Thread.sleep(2 * PUBLISH_NANOS / 1_000_000);
    }

    /**
     * Stops the thread and waits for it, so the model it scores with may close after: it stops
     * within one forward pass (a prompt, or a reference line being scored).
     */
    @Override
    public void close() {
        closed = true;
        thread.interrupt();
        boolean interrupted = false;
        while (thread.isAlive()) {
            try {
                thread.join();
            } catch (InterruptedException e) {
                interrupted = true; // the session must not close under the monitor's forward pass
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}
