package io.troupe.tuner.sampler;

import java.util.Map;

/**
 * A finished trial as a sampler sees it.
 *
 * @param params the values it ran with, by training key
 * @param value its objective: the best validation loss it reported (lower is better)
 * @param lastStep the last step it reported at; a trial pruned early ran fewer steps
 */
public record Observation(Map<String, Object> params, double value, long lastStep) {
}
