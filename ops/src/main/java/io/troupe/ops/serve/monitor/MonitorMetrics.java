package io.troupe.ops.serve.monitor;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

/** The monitor's Prometheus metrics, in the server's registry beside its request metrics. */
final class MonitorMetrics {
    final Gauge psi;
    final Gauge promptPerplexity;
    final Gauge referencePerplexity;
    final Gauge confidence;
    final Gauge perplexityKind;
    final Gauge windowTexts;
    final Gauge unknownShare;
    final Gauge drift;
    final Counter droppedTexts;
    final Histogram requestPathSeconds;
    final Counter feedback;
    final Counter feedbackErrors;
    final Gauge feedbackStoreOk;
    final Gauge liveAccuracy;
    final Gauge liveMacro;
    final Gauge liveLabelled;
    final Gauge accuracyAlert;

    MonitorMetrics(PrometheusRegistry registry) {
        psi = Gauge.builder().name("troupe_serve_drift_psi").help("Population stability index of the window of incoming"
                + " texts against the training data's reference profile, by feature (tokens, length)")
                .labelNames("feature").register(registry);
        promptPerplexity = Gauge.builder().name("troupe_serve_prompt_perplexity")
                .help("Perplexity of recent prompts under the served model (a bounded sample): causal for a language"
                        + " model, pseudo-perplexity for an MLM encoder, NaN where the model has none (see"
                        + " troupe_serve_perplexity_kind)").register(registry);
        referencePerplexity = Gauge.builder().name("troupe_serve_reference_perplexity")
                .help("The served model's perplexity (causal or pseudo) on its reference texts, scored as prompts are;"
                        + " NaN where it has none").register(registry);
        perplexityKind = Gauge.builder().name("troupe_serve_perplexity_kind")
                .help("1 for the perplexity troupe_serve_prompt_perplexity reports: causal (a language model), pseudo"
                        + " (an encoder's MLM pseudo-perplexity), or none (not available for this model: a classifier,"
                        + " or a sentence encoder without an MLM head; the perplexity gauges are then NaN)")
                .labelNames("kind").register(registry);
        confidence = Gauge.builder().name("troupe_serve_prediction_confidence")
                .help("Mean top-class probability of recent classifications").register(registry);
        windowTexts = Gauge.builder().name("troupe_serve_drift_window_texts")
                .help("Texts in the drift window").register(registry);
        unknownShare = Gauge.builder().name("troupe_serve_drift_unknown_token_share")
                .help("Share of the window's characters the tokenizer has no token for").register(registry);
        drift = Gauge.builder().name("troupe_serve_drift")
                .help("1 while the drift PSI is above its threshold (/health details say drift), else 0").register(registry);
        droppedTexts = Counter.builder().name("troupe_serve_monitor_dropped_texts_total")
                .help("Texts not profiled because the monitor's queue was full").register(registry);
        // 100 ns .. ~0.4 s in doublings: a queue offer is sub-microsecond, a preempted thread waits a timeslice.
        requestPathSeconds = Histogram.builder().name("troupe_serve_monitor_request_path_seconds")
                .help("Time a request thread spent handing one text or confidence to the drift monitor (its whole"
                        + " cost on the request path; the profiling runs on the monitor's own thread)").classicOnly()
                .classicExponentialUpperBounds(1e-7, 2, 22).register(registry);
        feedback = Counter.builder().name("troupe_serve_feedback_total")
                .help("Feedback records stored, by kind (label, rating) and whether the request id was known")
                .labelNames("kind", "known").register(registry);
        feedbackErrors = Counter.builder().name("troupe_serve_feedback_store_errors_total")
                .help("Feedback records that could not be written").register(registry);
        feedbackStoreOk = Gauge.builder().name("troupe_serve_feedback_store_ok")
                .help("1 when the last feedback write (or the start-up check) succeeded, 0 after a failure").register(registry);
        liveAccuracy = Gauge.builder().name("troupe_serve_live_accuracy")
                .help("Accuracy of the served classifier over recent labelled feedback").register(registry);
        liveMacro = Gauge.builder().name("troupe_serve_live_macro")
                .help("Macro-averaged precision, recall and F1 over recent labelled feedback").labelNames("metric")
                .register(registry);
        liveLabelled = Gauge.builder().name("troupe_serve_live_labelled")
                .help("Labelled feedback records live accuracy is computed over").register(registry);
        accuracyAlert = Gauge.builder().name("troupe_serve_accuracy_alert")
                .help("1 while live accuracy is under its threshold, else 0").register(registry);
    }

    /** Marks {@code kind} as the perplexity reported (1) and the others as not (0). */
    void publishPerplexityKind(MonitoredModel.PerplexityKind kind) {
        for (MonitoredModel.PerplexityKind k : MonitoredModel.PerplexityKind.values()) {
            perplexityKind.labelValues(k.label()).set(k == kind ? 1 : 0);
        }
    }
}
