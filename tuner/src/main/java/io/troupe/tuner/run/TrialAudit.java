package io.troupe.tuner.run;

import java.util.Map;

/**
 * Measures a COMPLETE trial's exported model after training (e.g. a bias audit of
 * {@code dir/model.onnx}) and returns secondary metrics by name, which the runner records in
 * the store beside the objective. Pruned and failed trials are never audited.
 */
@FunctionalInterface
public interface TrialAudit {

    /**
     * @return the metrics of the trial's model, by name
     * @throws Exception anything that stops the audit; the trial stays COMPLETE, without metrics,
     *     and the message is recorded as its reason
     */
    Map<String, Double> audit(TrialJob job) throws Exception;

    /** No audit: trials get no secondary metrics. */
    TrialAudit NONE = job -> Map.of();
}
