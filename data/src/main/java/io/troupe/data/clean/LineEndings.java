package io.troupe.data.clean;

import io.troupe.data.report.Counter;
import io.troupe.data.report.Counters;

/** Windows (CRLF) and old Mac (CR) line endings become LF. Always on: text has one newline. */
final class LineEndings implements TextTransform {

    @Override
    public String apply(String text, Counters counters) {
        int cr = text.indexOf('\r');
        if (cr < 0) {
            return text;
        }
        StringBuilder out = new StringBuilder(text.length());
        out.append(text, 0, cr);
        for (int i = cr; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '\r') {
                out.append('\n');
                if (i + 1 < text.length() && text.charAt(i + 1) == '\n') {
                    i++;
                }
            } else {
                out.append(c);
            }
        }
        counters.increment(Counter.LINE_ENDINGS_DOCS);
        return out.toString();
    }
}
