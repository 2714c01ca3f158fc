package io.troupe.ops.serve.monitor;

import java.nio.file.Path;

/**
 * How {@code troupe serve} watches its model.
 *
 * @param drift whether incoming texts are profiled at all ({@code --no-monitor} turns it off)
 * @param window texts in the sliding window compared with the reference
 * @param minTexts texts the window needs before its PSI is judged (fewer: status "warming_up")
 * @param driftThreshold PSI (of tokens or lengths) above which the status is "drift"
 * @param feedbackDir where {@code POST /v1/feedback} appends its records, or null for no feedback
 * @param feedbackMaxBytes size at which the feedback file is rotated
 * @param feedbackFiles rotated feedback files kept besides the current one
 * @param accuracyWindow labelled feedback records live accuracy is computed over
 * @param accuracyAlert live accuracy under which the status is "alert" (0 turns the alert off)
 * @param minLabelled labelled records needed before the accuracy alert is judged
 * @param rememberedRequests request ids (with their inputs and predictions) feedback can refer to
 * @param referenceData a text file of example requests, one per line, to build the reference profile from at
 *     start instead of the stored one or the run's data ({@code --reference-data}); null for none
 */
public record MonitorSettings(boolean drift, int window, int minTexts, double driftThreshold, Path feedbackDir,
        long feedbackMaxBytes, int feedbackFiles, int accuracyWindow, double accuracyAlert, int minLabelled,
        int rememberedRequests, Path referenceData) {

    /** Defaults: a window of 200 texts judged from 50, PSI threshold 0.25, no feedback store, alert under 0.8 from 20 labels. */
    public static MonitorSettings defaults() {
        return new MonitorSettings(true, 200, 50, 0.25, null, 64L << 20, 4, 500, 0.8, 20, 10_000, null);
    }

    public MonitorSettings withDrift(boolean on) {
        return new MonitorSettings(on, window, minTexts, driftThreshold, feedbackDir, feedbackMaxBytes, feedbackFiles,
                accuracyWindow, accuracyAlert, minLabelled, rememberedRequests, referenceData);
    }

    public MonitorSettings withWindow(int texts, int judgedFrom, double threshold) {
        return new MonitorSettings(drift, texts, judgedFrom, threshold, feedbackDir, feedbackMaxBytes, feedbackFiles,
                accuracyWindow, accuracyAlert, minLabelled, rememberedRequests, referenceData);
    }

    public MonitorSettings withFeedback(Path dir, long maxBytes, int files) {
        return new MonitorSettings(drift, window, minTexts, driftThreshold, dir, maxBytes, files, accuracyWindow,
                accuracyAlert, minLabelled, rememberedRequests, referenceData);
    }

    public MonitorSettings withAccuracy(int texts, double alert, int judgedFrom) {
        return new MonitorSettings(drift, window, minTexts, driftThreshold, feedbackDir, feedbackMaxBytes, feedbackFiles,
                texts, alert, judgedFrom, rememberedRequests, referenceData);
    }

    /** Builds the reference profile from {@code file} (example texts, one per line) at start. */
    public MonitorSettings withReferenceData(Path file) {
        return new MonitorSettings(drift, window, minTexts, driftThreshold, feedbackDir, feedbackMaxBytes, feedbackFiles,
                accuracyWindow, accuracyAlert, minLabelled, rememberedRequests, file);
    }
}
