package io.troupe.ops.dashboard;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The dashboard feed of {@code serve --dashboard}: request rate, the drift monitor's PSI of the
 * token and length distributions, prompt perplexity (a language model), prediction confidence
 * and live accuracy over labelled feedback (a classifier), and the queue, over time. It samples
 * the server's own Prometheus registry (the numbers {@code /metrics} serves, so nothing is
 * computed twice) once per {@code period} on one daemon thread, and keeps the last
 * {@link #MAX_SAMPLES} samples. Deltas as for a run: a stream's first message holds every
 * sample kept, the next ones the samples taken since ({@code "reset": true} and all of them
 * when the client fell further behind than the buffer holds).
 */
public final class ServeDashboard implements DashboardFeed<ServeDashboard.Cursor>, AutoCloseable {
    /** Samples kept: an hour at one a second. */
    public static final int MAX_SAMPLES = 3600;
    private static final ObjectMapper JSON = new ObjectMapper();
    /** The columns of a sample, in order (the page reads them by these names). */
    static final String[] COLUMNS = {"seconds", "requestsPerSecond", "errorsPerSecond", "psiTokens", "psiLength",
        "promptPerplexity", "confidence", "liveAccuracy", "queue"};

    private final PrometheusRegistry registry;
    private final Clock clock;
    private final long startMillis;
    private final ArrayDeque<double[]> samples = new ArrayDeque<>();
    private final ScheduledExecutorService sampler;
    /** Samples ever taken: a cursor's position is in these units. */
    private long taken;
    private double lastRequests = Double.NaN;
    private double lastErrors = Double.NaN;
    private long lastMillis;
    private ObjectNode latest = JSON.createObjectNode();

    private ServeDashboard(PrometheusRegistry registry, Clock clock) {
        this.registry = registry;
        this.clock = clock;
        this.startMillis = clock.millis();
        this.sampler = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "troupe-serve-dashboard");
            t.setDaemon(true);
            return t;
        });
    }

    /** Starts sampling {@code registry} every {@code period}. */
    public static ServeDashboard start(PrometheusRegistry registry, Clock clock, Duration period) {
        ServeDashboard d = new ServeDashboard(registry, clock);
        d.sampler.scheduleAtFixedRate(d::sampleQuietly, 0, period.toMillis(), TimeUnit.MILLISECONDS);
        return d;
    }

    /** For tests: a dashboard that samples only when {@link #sample} is called. */
    static ServeDashboard manual(PrometheusRegistry registry, Clock clock) {
        return new ServeDashboard(registry, clock);
    }

    /** Where one stream is: the next sample its client needs. */
    public static final class Cursor {
        private boolean started;
        private long next;
    }

    @Override
    public Cursor cursor() {
        return new Cursor();
    }

    @Override
    public synchronized String next(Cursor cursor) {
        boolean full = !cursor.started;
        long oldest = taken - samples.size();
        boolean reset = !full && cursor.next < oldest;
        long from = full || reset ? oldest : cursor.next;
        ObjectNode root = JSON.createObjectNode();
        root.put("kind", "serve").put("full", full).put("time", clock.instant().toString());
        if (reset) {
            root.put("reset", true);
        }
        ArrayNode columns = root.putArray("columns");
        for (String c : COLUMNS) {
            columns.add(c);
        }
        root.set("latest", latest.deepCopy());
        ArrayNode out = root.putArray("samples");
        samples.stream().skip(from - oldest).forEach(s -> {
            ArrayNode row = out.addArray();
            for (double v : s) {
                if (Double.isFinite(v)) {
                    row.add(v);
                } else {
                    row.addNull();
                }
            }
        });
        cursor.next = taken;
        cursor.started = true;
        return root.toString();
    }

    private void sampleQuietly() {
        try {
            sample();
        } catch (RuntimeException e) {
            // A metric read that fails skips one sample; the server is not the dashboard's to stop.
        }
    }

    /** Takes one sample of the registry now. */
    synchronized void sample() {
        MetricSnapshots all = registry.scrape();
        long now = clock.millis();
        double requests = 0;
        double errors = 0;
        double psiTokens = Double.NaN;
        double psiLength = Double.NaN;
        ObjectNode gauges = JSON.createObjectNode();
        for (MetricSnapshot m : all) {
            String name = m.getMetadata().getName();
            if (m instanceof CounterSnapshot c && name.equals("troupe_serve_requests")) {
                for (CounterSnapshot.CounterDataPointSnapshot p : c.getDataPoints()) {
                    requests += p.getValue();
                    String status = p.getLabels().get("status");
                    if (status != null && !status.startsWith("2")) {
                        errors += p.getValue();
                    }
                }
            } else if (m instanceof GaugeSnapshot g) {
                for (GaugeSnapshot.GaugeDataPointSnapshot p : g.getDataPoints()) {
                    String feature = p.getLabels().get("feature");
                    String metric = p.getLabels().get("metric");
                    if (name.equals("troupe_serve_drift_psi") && "tokens".equals(feature)) {
                        psiTokens = p.getValue();
                    } else if (name.equals("troupe_serve_drift_psi") && "length".equals(feature)) {
                        psiLength = p.getValue();
                    } else if (name.equals("troupe_serve_perplexity_kind")) {
                        if (p.getValue() == 1) {
                            gauges.put("perplexity_kind", p.getLabels().get("kind")); // causal, pseudo or none
                        }
                    } else if (name.startsWith("troupe_serve_")) {
                        String key = name.substring("troupe_serve_".length()) + (metric == null ? "" : "_" + metric);
                        if (Double.isFinite(p.getValue())) {
                            gauges.put(key, p.getValue());
                        }
                    }
                }
            }
        }
        double seconds = (now - lastMillis) / 1000.0;
        boolean first = Double.isNaN(lastRequests) || seconds <= 0;
        double[] s = {(now - startMillis) / 1000.0,
            first ? Double.NaN : (requests - lastRequests) / seconds,
            first ? Double.NaN : (errors - lastErrors) / seconds,
            psiTokens, psiLength, gauge(gauges, "prompt_perplexity"), gauge(gauges, "prediction_confidence"),
            gauge(gauges, "live_accuracy"), gauge(gauges, "queue_depth")};
        lastRequests = requests;
        lastErrors = errors;
        lastMillis = now;
        if (samples.size() == MAX_SAMPLES) {
            samples.removeFirst();
        }
        samples.addLast(s);
        taken++;
        gauges.put("requests_total", requests);
        if (Double.isFinite(psiTokens)) {
            gauges.put("drift_psi_tokens", psiTokens);
        }
        if (Double.isFinite(psiLength)) {
            gauges.put("drift_psi_length", psiLength);
        }
        latest = gauges;
    }

    private static double gauge(ObjectNode gauges, String name) {
        return gauges.has(name) ? gauges.get(name).asDouble() : Double.NaN;
    }

    /** Stops sampling. */
    @Override
    public void close() {
        sampler.shutdownNow();
    }
}
