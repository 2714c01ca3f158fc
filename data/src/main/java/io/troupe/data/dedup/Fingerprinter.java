package io.troupe.data.dedup;

/** Computes {@link Fingerprint}s; thread-safe, so every worker shares one. */
public final class Fingerprinter {

    private static final long[] NO_BANDS = new long[0];
    // Fixed, not the split seed: changing the split must not change which documents are duplicates.
    private static final long MINHASH_SEED = 0x7E0B5E_5EEDL;

    private final DedupSettings settings;
    private final MinHasher minHasher;
    private final LshParameters lsh;

    /** A fingerprinter for these settings. */
    public Fingerprinter(DedupSettings settings) {
        this.settings = settings;
        this.minHasher = new MinHasher(settings.permutations(), settings.shingleSize(), MINHASH_SEED);
        this.lsh = LshParameters.optimal(settings.threshold(), settings.permutations());
    }

    /** The bands and rows in use. */
    public LshParameters lsh() {
        return lsh;
    }

    /** The fingerprint of a cleaned text. */
    public Fingerprint of(String text) {
        long exact = Hashing.hash(text);
        if (!settings.near()) {
            return new Fingerprint(exact, NO_BANDS);
        }
        int[] signature = minHasher.signature(text);
        if (signature == null) {
            return new Fingerprint(exact, NO_BANDS);
        }
        long[] bands = new long[lsh.bands()];
        for (int b = 0; b < bands.length; b++) {
            // The band number is part of the key: equal values in different bands do not match.
            long h = Hashing.mix(0xB5AD4ECEDA1CE2A9L * (b + 1));
            for (int r = 0; r < lsh.rows(); r++) {
                h = Hashing.mix(h ^ signature[b * lsh.rows() + r]);
            }
            bands[b] = h;
        }
        return new Fingerprint(exact, bands);
    }
}
