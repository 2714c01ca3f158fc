package io.troupe.tuner.store;

/**
 * A study as the store records it: what a resume must agree with.
 *
 * @param name the study's key in the store: {@code "."} in a study directory's own SQLite file
 *     (so the directory can be moved or copied), its absolute path in a shared store; a study
 *     written before keys were relative keeps its absolute path
 * @param space the search space's canonical text ({@code SearchSpace#canonical})
 * @param data the training data's path, relative to the study directory (absolute in studies
 *     written before paths were relative)
 * @param pruner the pruner's name (stored in the column {@code scheduler}, its name before)
 * @param trials how many trials the study runs in all
 * @param workersPerTrial workers per trial (K)
 * @param steps training steps of a full trial
 * @param createdAt epoch milliseconds
 * @param dataSha256 the training data's fingerprint ({@code StudyData#sha256}); null in studies
 *     written before it was recorded
 */
public record StudyInfo(String name, String space, String data, String sampler, String pruner, long seed,
                        int trials, int workersPerTrial, long steps, long createdAt, String dataSha256) {

    /** A study whose data fingerprint is not (yet) known. */
    public StudyInfo(String name, String space, String data, String sampler, String pruner, long seed,
                     int trials, int workersPerTrial, long steps, long createdAt) {
        this(name, space, data, sampler, pruner, seed, trials, workersPerTrial, steps, createdAt, null);
    }

    /** This study under another key, e.g. its directory for a title. */
    public StudyInfo withName(String newName) {
        return new StudyInfo(newName, space, data, sampler, pruner, seed, trials, workersPerTrial, steps, createdAt,
                dataSha256);
    }

    /** This study with its data at another path, or with a fingerprint recorded. */
    public StudyInfo withData(String newData, String newSha256) {
        return new StudyInfo(name, space, newData, sampler, pruner, seed, trials, workersPerTrial, steps, createdAt,
                newSha256);
    }

    /** This study with another trial count. */
    public StudyInfo withTrials(int newTrials) {
        return new StudyInfo(name, space, data, sampler, pruner, seed, newTrials, workersPerTrial, steps, createdAt,
                dataSha256);
    }
}
