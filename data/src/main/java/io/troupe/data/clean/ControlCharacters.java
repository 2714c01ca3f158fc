package io.troupe.data.clean;

import io.troupe.data.report.Counter;
import io.troupe.data.report.Counters;

/**
 * Deletes control characters (Unicode category Cc: U+0000-U+001F and U+007F-U+009F) except tab
 * and newline: NULs, terminal escape sequences' ESC, form feeds and C1 controls from mis-decoded
 * windows-1252 are noise a model should not spend tokens on.
 */
final class ControlCharacters implements TextTransform {

    @Override
    public String apply(String text, Counters counters) {
        int first = -1;
        for (int i = 0; i < text.length(); i++) {
            if (isRemoved(text.charAt(i))) {
                first = i;
                break;
            }
        }
        if (first < 0) {
            return text;
        }
        StringBuilder out = new StringBuilder(text.length());
        out.append(text, 0, first);
        int removed = 0;
        for (int i = first; i < text.length(); i++) {
            char c = text.charAt(i);
            if (isRemoved(c)) {
                removed++;
            } else {
                out.append(c);
            }
        }
        counters.increment(Counter.CONTROL_DOCS);
        counters.add(Counter.CONTROL_CHARS, removed);
        return out.toString();
    }

    static boolean isRemoved(char c) {
        return (c < 0x20 && c != '\t' && c != '\n') || (c >= 0x7F && c <= 0x9F);
    }
}
