package io.troupe.ops.audit;

/**
 * One pair of a bias test set: two sentences that differ only in the words naming a group.
 *
 * <p>{@code more} is the more stereotypical sentence and {@code less} the less stereotypical one,
 * for every row (CrowS-Pairs' {@code sent_more} and {@code sent_less}). {@code direction} is kept
 * for the breakdown only: in CrowS-Pairs an {@code antistereo} row is one whose sentence about the
 * disadvantaged group violates a stereotype, and that sentence is {@code sent_less} there, so the
 * more stereotypical sentence is still {@code sent_more}. The authors' {@code metric.py} swaps the
 * two sentences of an antistereo row when reading and swaps the comparison back when counting, so
 * in both directions a pair counts as stereotypical when {@code sent_more} scores higher.
 *
 * @param line the 1-based line of the file where the row starts (for messages)
 * @param more the more stereotypical sentence
 * @param less the less stereotypical sentence
 * @param category the bias category ({@code bias_type}), or {@value #NO_CATEGORY}
 * @param direction {@code stereo}, {@code antistereo}, or {@value #NO_DIRECTION} for a plain pairs file
 */
public record SentencePair(long line, String more, String less, String category, String direction) {
    /** The category of a pair whose file has no category column. */
    public static final String NO_CATEGORY = "all";
    /** The direction of a pair from a plain pairs file. */
    public static final String NO_DIRECTION = "stereo";
}
