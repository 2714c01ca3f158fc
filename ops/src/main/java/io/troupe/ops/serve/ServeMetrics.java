package io.troupe.ops.serve;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.troupe.ops.inference.BatchScheduler;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;

/** The server's Prometheus metrics: requests, tokens, time to first token, batch size, queue depth. */
final class ServeMetrics implements BatchScheduler.Observer {
    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final Counter requests = Counter.builder().name("troupe_serve_requests_total")
            .help("HTTP requests answered, by endpoint and status").labelNames("endpoint", "status").register(registry);
    private final Counter generatedTokens = Counter.builder().name("troupe_serve_generated_tokens_total")
            .help("Tokens generated").register(registry);
    private final Counter promptTokens = Counter.builder().name("troupe_serve_prompt_tokens_total")
            .help("Prompt tokens of admitted requests").register(registry);
    private final Histogram firstToken = Histogram.builder().name("troupe_serve_time_to_first_token_seconds")
            .help("Time from a request's arrival to its first generated token").classicOnly()
            .classicExponentialUpperBounds(0.005, 2, 14).register(registry);
    private final Histogram batchSize = Histogram.builder().name("troupe_serve_batch_size")
            .help("Sequences in each batched decode step").classicOnly()
            .classicUpperBounds(1, 2, 4, 8, 16, 32, 64, 128, 256).register(registry);
    private final Gauge queueDepth = Gauge.builder().name("troupe_serve_queue_depth")
            .help("Requests waiting for a batch slot").register(registry);

    /** The registry, for the monitor's metrics to join these in one scrape. */
    PrometheusRegistry registry() {
        return registry;
    }

    /** Batched decode steps so far and the sequences they carried, as {steps, sequences}. */
    long[] decodeSteps() {
        var point = batchSize.collect().getDataPoints().get(0);
        return new long[] {point.getCount(), Math.round(point.getSum())};
    }

    void request(String endpoint, int status) {
        requests.labelValues(endpoint, Integer.toString(status)).inc();
    }

    void promptTokens(int count) {
        promptTokens.inc(count);
    }

    void queueDepth(int queued) {
        queueDepth.set(queued);
    }

    @Override
    public void onStep(int size, int queued) {
        batchSize.observe(size);
        queueDepth.set(queued);
    }

    @Override
    public void onFirstToken(long nanos) {
        firstToken.observe(nanos / 1e9);
    }

    @Override
    public void onTokens(int count) {
        generatedTokens.inc(count);
    }

    /** Content type of {@link #scrape()}. */
    String contentType() {
        return PrometheusTextFormatWriter.CONTENT_TYPE;
    }

    /** Every metric in the Prometheus text format. */
    byte[] scrape() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            PrometheusTextFormatWriter.create().write(out, registry.scrape());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }
}
