package io.troupe.tuner.store;

import java.util.Map;

/**
 * One exploit step of population-based training: at {@code step}, trial {@code number} took the
 * weights and optimizer state of trial {@code parent} and continued with {@code params} (the
 * parent's, perturbed).
 */
public record LineageEvent(int number, long step, int parent, Map<String, Object> params) {
}
