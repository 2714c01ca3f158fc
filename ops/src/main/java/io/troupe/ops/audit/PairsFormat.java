package io.troupe.ops.audit;

/** The layout of a pairs file given to {@code troupe audit bias}. */
public enum PairsFormat {
    /** CrowS-Pairs' CSV: {@code sent_more, sent_less, stereo_antistereo, bias_type} (other columns ignored). */
    CROWS,
    /** Any CSV or TSV with a header naming {@code more, less} and optionally {@code category}. */
    PAIRS
}
