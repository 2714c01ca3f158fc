package io.troupe.ops.serve.monitor;

/**
 * Token and length histograms of a set of texts, the shape both a {@link ReferenceProfile} and a
 * {@link DriftWindow} count in. Not thread-safe.
 */
final class TextHistograms {
    final long[] tokens;
    final long[] lengths = new long[LengthBins.COUNT];
    long texts;

    TextHistograms(int tokenBins) {
        tokens = new long[tokenBins];
    }

    /** Counts one text in ({@code sign} 1) or out ({@code sign} -1). */
    void add(LenientEncoder.Encoded text, int sign, int unknownBin) {
        for (int id : text.ids()) {
            tokens[id] += sign;
        }
        tokens[unknownBin] += (long) sign * text.unknown();
        lengths[LengthBins.of(text.length())] += sign;
        texts += sign;
    }
}
