package io.troupe.data.clean;

import io.troupe.data.report.Counter;
import io.troupe.data.report.Counters;
import java.text.Normalizer;

/** Applies NFC or NFKC; text made only of characters the form leaves alone is not touched. */
final class UnicodeNormalizer implements TextTransform {

    private final Normalization normalization;

    UnicodeNormalizer(Normalization normalization) {
        this.normalization = normalization;
    }

    @Override
    public String apply(String text, Counters counters) {
        int stable = normalization.stableBelow();
        boolean allStable = true;
        for (int i = 0; i < text.length() && allStable; i++) {
            allStable = text.charAt(i) < stable;
        }
        if (allStable || Normalizer.isNormalized(text, normalization.form())) {
            return text;
        }
        String normalized = Normalizer.normalize(text, normalization.form());
        if (normalized.equals(text)) {
            return text;
        }
        counters.increment(Counter.UNICODE_DOCS);
        return normalized;
    }
}
