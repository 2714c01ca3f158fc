package io.troupe.ops.dashboard;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A server's page: rates from the request counter, drift and accuracy gauges, as samples and deltas. */
class ServeDashboardTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** A clock the test moves by hand. */
    static final class Ticking extends Clock {
        long millis = 1_000_000;

        @Override
        public ZoneOffset getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return Instant.ofEpochMilli(millis);
        }
    }

    @Test
    void samplesRatesDriftAndAccuracyAndSendsOnlyNewSamples() throws Exception {
        PrometheusRegistry registry = new PrometheusRegistry();
        Counter requests = Counter.builder().name("troupe_serve_requests_total").labelNames("endpoint", "status")
                .register(registry);
        Gauge psi = Gauge.builder().name("troupe_serve_drift_psi").labelNames("feature").register(registry);
        Gauge accuracy = Gauge.builder().name("troupe_serve_live_accuracy").register(registry);
        Gauge drift = Gauge.builder().name("troupe_serve_drift").register(registry);
        Gauge kind = Gauge.builder().name("troupe_serve_perplexity_kind").labelNames("kind").register(registry);
        kind.labelValues("causal").set(0);
        kind.labelValues("none").set(1); // a classifier: the page says perplexity is not available
        kind.labelValues("pseudo").set(0);
        Ticking clock = new Ticking();
        ServeDashboard feed = ServeDashboard.manual(registry, clock);
        feed.sample();
        requests.labelValues("/v1/classify", "200").inc(10);
        requests.labelValues("/v1/classify", "400").inc(2);
        psi.labelValues("tokens").set(1.25);
        psi.labelValues("length").set(0.05);
        accuracy.set(0.75);
        drift.set(1);
        clock.millis += 2000;
        feed.sample();

        ServeDashboard.Cursor cursor = feed.cursor();
        JsonNode first = JSON.readTree(feed.next(cursor));
        assertEquals("serve", first.get("kind").asText());
        assertTrue(first.get("full").asBoolean());
        List<String> columns = new ArrayList<>();
        first.get("columns").forEach(c -> columns.add(c.asText()));
        JsonNode second = first.get("samples").get(1);
        assertEquals(2.0, second.get(columns.indexOf("seconds")).asDouble());
        assertEquals(6.0, second.get(columns.indexOf("requestsPerSecond")).asDouble(), "12 requests in 2 s");
        assertEquals(1.0, second.get(columns.indexOf("errorsPerSecond")).asDouble(), "2 errors in 2 s");
        assertEquals(1.25, second.get(columns.indexOf("psiTokens")).asDouble());
        assertEquals(0.05, second.get(columns.indexOf("psiLength")).asDouble());
        assertEquals(0.75, second.get(columns.indexOf("liveAccuracy")).asDouble());
        assertTrue(second.get(columns.indexOf("promptPerplexity")).isNull(), "a classifier has none");
        assertTrue(first.get("samples").get(0).get(columns.indexOf("requestsPerSecond")).isNull(), "no rate before two samples");
        assertEquals(1.0, first.get("latest").get("drift").asDouble());
        assertEquals(12.0, first.get("latest").get("requests_total").asDouble());
        assertEquals("none", first.get("latest").get("perplexity_kind").asText(), "the kind whose gauge is 1");

        assertEquals(0, JSON.readTree(feed.next(cursor)).get("samples").size(), "nothing new");
        clock.millis += 1000;
        feed.sample();
        JsonNode delta = JSON.readTree(feed.next(cursor));
        assertFalse(delta.get("full").asBoolean());
        assertEquals(1, delta.get("samples").size());
        assertEquals(0.0, delta.get("samples").get(0).get(columns.indexOf("requestsPerSecond")).asDouble());

        for (int i = 0; i < ServeDashboard.MAX_SAMPLES + 5; i++) {
            clock.millis += 1000;
            feed.sample();
        }
        JsonNode behind = JSON.readTree(feed.next(cursor));
        assertTrue(behind.get("reset").asBoolean(), "the client fell further behind than the buffer holds");
        assertEquals(ServeDashboard.MAX_SAMPLES, behind.get("samples").size());
    }
}
