package io.troupe.worker.metrics;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.Unit;

/**
 * The training metrics of one process, in the {@code troupe_} namespace, registered in one
 * {@link PrometheusRegistry}: the registry {@code --metrics-bind} serves as Prometheus text.
 * Local runs, the coordinator, workers and the tuner record into {@link #process()} through
 * the listeners they already report to ({@link MetricsTrainListener}, the study's trial events),
 * so an embedded single-JVM run has one set of numbers and one endpoint.
 *
 * <p>Gauges hold the latest value (a scrape between steps sees the last step); histograms and
 * counters accumulate over the life of the process.
 */
public final class TroupeMetrics {

    /** Bucket bounds of the time histograms: 1 ms doubling to about 4.6 hours. */
    private static final double[] SECONDS_BUCKETS = exponential(0.001, 2, 24);

    private static final TroupeMetrics PROCESS = new TroupeMetrics(new PrometheusRegistry());

    private final PrometheusRegistry registry;
    final Gauge trainLoss;
    final Gauge valLoss;
    final Gauge step;
    final Gauge learningRate;
    final Gauge gradNorm;
    final Histogram stepSeconds;
    final Gauge tokensPerSecond;
    final Gauge mfu;
    final Histogram allreduceSeconds;
    final Counter allreduceBytes;
    final Histogram allreduceExposedSeconds;
    final Gauge workers;
    final Counter workerFailures;
    final Histogram checkpointSeconds;
    final Gauge trials;

    /** Creates the metrics and registers them in {@code registry}. */
    public TroupeMetrics(PrometheusRegistry registry) {
        this.registry = registry;
        trainLoss = Gauge.builder().name("troupe_train_loss")
                .help("Training loss (nats per token) of the last optimizer step").register(registry);
        valLoss = Gauge.builder().name("troupe_val_loss")
                .help("Validation loss (nats per token) of the last evaluation").register(registry);
        step = Gauge.builder().name("troupe_step")
                .help("The last completed optimizer step").register(registry);
        learningRate = Gauge.builder().name("troupe_learning_rate")
                .help("Learning rate of the last optimizer step").register(registry);
        gradNorm = Gauge.builder().name("troupe_grad_norm")
                .help("Global L2 norm of the last step's gradient, before clipping").register(registry);
        stepSeconds = Histogram.builder().name("troupe_step_seconds").unit(Unit.SECONDS)
                .help("Wall time of one optimizer step of the whole job").classicOnly()
                .classicUpperBounds(SECONDS_BUCKETS).register(registry);
        tokensPerSecond = Gauge.builder().name("troupe_tokens_per_second")
                .help("Training tokens per second of the last step (global batch times block size over its time)")
                .register(registry);
        mfu = Gauge.builder().name("troupe_mfu_ratio").unit(Unit.RATIO)
                .help("Model FLOPs utilisation of the last step: its model FLOP rate over the configured peak "
                        + "(troupe.monitor.peak-gflops)").register(registry);
        allreduceSeconds = Histogram.builder().name("troupe_allreduce_seconds").unit(Unit.SECONDS)
                .help("Time the workers spent all-reducing one step's gradients (mean over the ring)").classicOnly()
                .classicUpperBounds(SECONDS_BUCKETS).register(registry);
        allreduceBytes = Counter.builder().name("troupe_allreduce_bytes").unit(Unit.BYTES)
                .help("Gradient bytes sent over the ring by all workers: 2(N-1) times the gradient size per step")
                .register(registry);
        allreduceExposedSeconds = Histogram.builder().name("troupe_allreduce_exposed_seconds").unit(Unit.SECONDS)
                .help("The part of a step's all-reduce not hidden behind the backward pass (overlap_allreduce;"
                        + " all of it without), mean over the ring").classicOnly()
                .classicUpperBounds(SECONDS_BUCKETS).register(registry);
        workers = Gauge.builder().name("troupe_workers")
                .help("Workers in the ring (1 for a local run)").register(registry);
        workerFailures = Counter.builder().name("troupe_worker_failures")
                .help("Workers lost while training (crashed, unreachable or timed out)").register(registry);
        checkpointSeconds = Histogram.builder().name("troupe_checkpoint_seconds").unit(Unit.SECONDS)
                .help("Time to write one checkpoint durably (write, fsync, rename)").classicOnly()
                .classicUpperBounds(SECONDS_BUCKETS).register(registry);
        trials = Gauge.builder().name("troupe_trials").labelNames("state")
                .help("Trials of the study this process runs, by state (running, complete, pruned, failed)")
                .register(registry);
    }

    /** The metrics of this process, which {@code --metrics-bind} serves. */
    public static TroupeMetrics process() {
        return PROCESS;
    }

    /** The registry these metrics are registered in. */
    public PrometheusRegistry registry() {
        return registry;
    }

    /** A listener that records a training run's steps, evaluations, ring and checkpoints here. */
    public MetricsTrainListener trainListener() {
        return new MetricsTrainListener(this);
    }

    /** Records a checkpoint that took {@code seconds} to write (a worker that saves one reports it here). */
    public void checkpointWritten(double seconds) {
        checkpointSeconds.observe(seconds);
    }

    /** A trial started running. */
    public void trialStarted() {
        trials.labelValues("running").inc();
    }

    /** A running trial ended in {@code state} (complete, pruned or failed). */
    public void trialEnded(String state) {
        trials.labelValues("running").dec();
        trials.labelValues(state.toLowerCase(java.util.Locale.ROOT)).inc();
    }

    private static double[] exponential(double start, double factor, int count) {
        double[] bounds = new double[count];
        for (int i = 0; i < count; i++) {
            bounds[i] = start * Math.pow(factor, i);
        }
        return bounds;
    }
}
