package io.troupe.data.clean;

import io.troupe.data.report.Counter;
import io.troupe.data.report.Counters;
import java.util.Locale;

/** Lower-cases text with the root locale (no Turkish dotless i surprises). */
final class Lowercaser implements TextTransform {

    @Override
    public String apply(String text, Counters counters) {
        String lower = text.toLowerCase(Locale.ROOT);
        if (lower.equals(text)) {
            return text;
        }
        counters.increment(Counter.LOWERCASE_DOCS);
        return lower;
    }
}
