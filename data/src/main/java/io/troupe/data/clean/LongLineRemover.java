package io.troupe.data.clean;

import io.troupe.data.report.Counter;
import io.troupe.data.report.Counters;

/**
 * Deletes lines longer than a limit: minified scripts, base64 blobs and tables flattened onto
 * one line, which prose never produces.
 */
final class LongLineRemover implements TextTransform {

    private final int maxLineChars;

    LongLineRemover(int maxLineChars) {
        this.maxLineChars = maxLineChars;
    }

    @Override
    public String apply(String text, Counters counters) {
        if (text.length() <= maxLineChars || !hasLongLine(text)) {
            return text;
        }
        StringBuilder out = new StringBuilder(text.length());
        int removed = 0;
        int start = 0;
        while (start <= text.length()) {
            int end = text.indexOf('\n', start);
            if (end < 0) {
                end = text.length();
            }
            if (end - start > maxLineChars) {
                removed++;
            } else {
                out.append(text, start, end);
                if (end < text.length()) {
                    out.append('\n');
                }
            }
            start = end + 1;
        }
        counters.increment(Counter.LONG_LINE_DOCS);
        counters.add(Counter.LONG_LINES, removed);
        return out.toString();
    }

    private boolean hasLongLine(String text) {
        int start = 0;
        while (start < text.length()) {
            int end = text.indexOf('\n', start);
            if (end < 0) {
                end = text.length();
            }
            if (end - start > maxLineChars) {
                return true;
            }
            start = end + 1;
        }
        return false;
    }
}
