package io.troupe.data.clean;

/**
 * Which cleaning steps run and the thresholds of the document filters; see the
 * {@code troupe.prepare} section of reference.conf for what each does and its default.
 *
 * @param normalization the Unicode normalization form
 * @param removeControlChars delete control characters other than tab and newline
 * @param normalizeWhitespace unify spaces, strip line ends, collapse blank lines, trim
 * @param lowercase lower-case everything
 * @param maxLineChars delete longer lines; 0 keeps all
 * @param minDocChars drop shorter documents
 * @param maxDocChars drop longer documents; 0 = no limit
 * @param minAlphaFraction least share of letters among non-space characters; 0 disables
 * @param maxDuplicateLineFraction largest share of repeated non-blank lines; 1 disables
 * @param minMeanWordLength least mean word length; 0 disables
 * @param maxMeanWordLength largest mean word length; 0 disables
 */
public record CleanSettings(Normalization normalization, boolean removeControlChars,
        boolean normalizeWhitespace, boolean lowercase, int maxLineChars, int minDocChars,
        long maxDocChars, double minAlphaFraction, double maxDuplicateLineFraction,
        double minMeanWordLength, double maxMeanWordLength) {

    /** Validates the thresholds. */
    public CleanSettings {
        if (maxLineChars < 0 || minDocChars < 0 || maxDocChars < 0) {
            throw new IllegalArgumentException("length limits must not be negative");
        }
        if (minAlphaFraction < 0 || minAlphaFraction > 1 || maxDuplicateLineFraction < 0
                || maxDuplicateLineFraction > 1) {
            throw new IllegalArgumentException("fractions must lie in [0, 1]");
        }
        if (minMeanWordLength < 0 || maxMeanWordLength < 0
                || (maxMeanWordLength > 0 && maxMeanWordLength < minMeanWordLength)) {
            throw new IllegalArgumentException("mean word length bounds must satisfy 0 <= min <= max,"
                    + " got " + minMeanWordLength + " and " + maxMeanWordLength);
        }
    }

    /** Every transform on, no filter: text is normalized but no document is dropped for quality. */
    public static CleanSettings normalizeOnly() {
        return new CleanSettings(Normalization.NFC, true, true, false, 0, 1, 0, 0, 1, 0, 0);
    }
}
