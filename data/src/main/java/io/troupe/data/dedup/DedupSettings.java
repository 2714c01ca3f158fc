package io.troupe.data.dedup;

/**
 * Exact and near-duplicate removal.
 *
 * @param exact drop documents whose text equals an earlier one
 * @param near drop documents whose MinHash signature shares an LSH band with an earlier one
 * @param shingleSize words per shingle
 * @param permutations MinHash signature length
 * @param threshold Jaccard similarity from which documents are near duplicates
 * @param indexBytes memory budget of the index of hashes and band keys
 */
public record DedupSettings(boolean exact, boolean near, int shingleSize, int permutations,
        double threshold, long indexBytes) {

    /** Validates the components. */
    public DedupSettings {
        if (shingleSize < 1 || permutations < 1 || permutations > 1024) {
            throw new IllegalArgumentException("shingle_size must be >= 1 and minhash_permutations in"
                    + " [1, 1024], got " + shingleSize + " and " + permutations);
        }
        if (!(threshold > 0 && threshold < 1)) {
            throw new IllegalArgumentException("near_dup_threshold must lie in (0, 1), got " + threshold);
        }
        if (indexBytes < 1 << 16) {
            throw new IllegalArgumentException("the dedup index needs at least 64 KiB, got " + indexBytes);
        }
    }

    /** Exact and near dedup with 5-word shingles, 128 permutations, threshold 0.8, 64 MiB. */
    public static DedupSettings defaults() {
        return new DedupSettings(true, true, 5, 128, 0.8, 64L << 20);
    }
}
