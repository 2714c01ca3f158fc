package io.troupe.worker.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.HistogramSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.troupe.worker.run.TrainListener;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

class TroupeMetricsTest {

    private final TroupeMetrics metrics = new TroupeMetrics(new PrometheusRegistry());

    @Test
    void namesCarryTheNamespaceAndTheirUnits() {
        Map<String, String> types = new TreeMap<>();
        for (MetricSnapshot s : metrics.registry().scrape()) {
            types.put(s.getMetadata().getPrometheusName(), s.getClass().getSimpleName());
        }
        assertEquals(Map.ofEntries(
                Map.entry("troupe_allreduce_bytes", "CounterSnapshot"),
                Map.entry("troupe_allreduce_seconds", "HistogramSnapshot"),
                Map.entry("troupe_allreduce_exposed_seconds", "HistogramSnapshot"),
                Map.entry("troupe_checkpoint_seconds", "HistogramSnapshot"),
                Map.entry("troupe_grad_norm", "GaugeSnapshot"),
                Map.entry("troupe_learning_rate", "GaugeSnapshot"),
                Map.entry("troupe_mfu_ratio", "GaugeSnapshot"),
                Map.entry("troupe_step", "GaugeSnapshot"),
                Map.entry("troupe_step_seconds", "HistogramSnapshot"),
                Map.entry("troupe_tokens_per_second", "GaugeSnapshot"),
                Map.entry("troupe_train_loss", "GaugeSnapshot"),
                Map.entry("troupe_trials", "GaugeSnapshot"),
                Map.entry("troupe_val_loss", "GaugeSnapshot"),
                Map.entry("troupe_worker_failures", "CounterSnapshot"),
                Map.entry("troupe_workers", "GaugeSnapshot")), types);
    }

    @Test
    void aDistributedStepFeedsEveryStepMetric() {
        TrainListener listener = metrics.trainListener();
        listener.onRingFormed(3);
        listener.onStep(new TrainListener.StepStats(7, 10, 2.5, 1e-3, 0.8, 4000, 250, 0.125, 3, 40, 1200));
        // Overlapped: 30 ms of all-reduce, of which 4 ms after the backward pass.
        listener.onStep(new TrainListener.StepStats(8, 10, 2.25, 9e-4, 0.7, 5000, 200, 0.15, 3, 30, 1200, 4));
        listener.onEval(8, 2.2, 2.4);
        listener.onCheckpoint(8, Path.of("ckpt-8.bin"), 0.05);
        listener.onWorkerFailure();

        assertEquals(8, gauge("troupe_step"), 0);
        assertEquals(2.25, gauge("troupe_train_loss"), 0);
        assertEquals(2.4, gauge("troupe_val_loss"), 0);
        assertEquals(5000, gauge("troupe_tokens_per_second"), 0);
        assertEquals(0.15, gauge("troupe_mfu_ratio"), 0);
        assertEquals(3, gauge("troupe_workers"), 0);
        HistogramSnapshot.HistogramDataPointSnapshot steps = histogram("troupe_step_seconds");
        assertEquals(2, steps.getCount());
        assertEquals(0.45, steps.getSum(), 1e-12);
        assertEquals(0.07, histogram("troupe_allreduce_seconds").getSum(), 1e-12);
        assertEquals(2400, counter("troupe_allreduce_bytes"), 0);
        assertEquals(0.044, histogram("troupe_allreduce_exposed_seconds").getSum(), 1e-12,
                "step 7 (no overlap) is all exposed, step 8 only its 4 ms");
        assertEquals(1, histogram("troupe_checkpoint_seconds").getCount());
        assertEquals(1, counter("troupe_worker_failures"), 0);
    }

    @Test
    void aLocalStepHasOneWorkerAndNoAllReduce() {
        metrics.trainListener().onStep(new TrainListener.StepStats(1, 2, 3.0, 1e-3, 1.0, 100, 10, 0.01, 1, 0, 0));
        assertEquals(1, gauge("troupe_workers"), 0);
        assertEquals(0, histogram("troupe_allreduce_seconds").getCount());
    }

    @Test
    void trialsAreCountedByState() {
        metrics.trialStarted();
        metrics.trialStarted();
        metrics.trialStarted();
        metrics.trialEnded("COMPLETE");
        metrics.trialEnded("PRUNED");
        Map<String, Double> byState = new TreeMap<>();
        for (GaugeSnapshot.GaugeDataPointSnapshot p : ((GaugeSnapshot) snapshot("troupe_trials")).getDataPoints()) {
            byState.put(p.getLabels().get("state"), p.getValue());
        }
        assertEquals(Map.of("running", 1.0, "complete", 1.0, "pruned", 1.0), byState);
    }

    private MetricSnapshot snapshot(String name) {
        for (MetricSnapshot s : metrics.registry().scrape()) {
            if (s.getMetadata().getPrometheusName().equals(name)) {
                return s;
            }
        }
        throw new AssertionError(name);
    }

    private double gauge(String name) {
        return ((GaugeSnapshot) snapshot(name)).getDataPoints().get(0).getValue();
    }

    private double counter(String name) {
        return ((CounterSnapshot) snapshot(name)).getDataPoints().get(0).getValue();
    }

    private HistogramSnapshot.HistogramDataPointSnapshot histogram(String name) {
        return ((HistogramSnapshot) snapshot(name)).getDataPoints().get(0);
    }
}
