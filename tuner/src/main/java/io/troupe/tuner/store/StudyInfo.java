package io.troupe.tuner.store;

/**
 * A study as the store records it: what a resume must agree with.
 *
 * @param name the study's key in the store (the study directory's absolute path)
 * @param space the search space's canonical text ({@code SearchSpace#canonical})
 * @param data the training data path
 * @param trials how many trials the study runs in all
 * @param workersPerTrial workers per trial (K)
 * @param steps training steps of a full trial
 * @param createdAt epoch milliseconds
 */
public record StudyInfo(String name, String space, String data, String sampler, String pruner, long seed,
                        int trials, int workersPerTrial, long steps, long createdAt) {
}
