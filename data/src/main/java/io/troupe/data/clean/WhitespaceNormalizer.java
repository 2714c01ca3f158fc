package io.troupe.data.clean;

import io.troupe.data.report.Counter;
import io.troupe.data.report.Counters;

/**
 * Unifies whitespace: Unicode space separators (no-break space, en/em spaces, ideographic space)
 * become ' ', line and paragraph separators (U+2028, U+2029) become '\n', spaces and tabs at line
 * ends go, runs of blank lines shrink to one, and blank lines at the start and end go. Leading
 * indentation stays: it carries meaning in code and verse.
 */
final class WhitespaceNormalizer implements TextTransform {

    @Override
    public String apply(String text, Counters counters) {
        if (!needsWork(text)) {
            return text;
        }
        String out = normalize(text);
        if (out.equals(text)) {
            return text;
        }
        counters.increment(Counter.WHITESPACE_DOCS);
        return out;
    }

    /** The rewrite itself. */
    static String normalize(String text) {
        StringBuilder out = new StringBuilder(text.length());
        StringBuilder line = new StringBuilder(128);
        int blankRun = 0;
        boolean started = false;
        for (int i = 0; i <= text.length(); i++) {
            char c = i < text.length() ? text.charAt(i) : '\n';
            if (c == '\n' || c == '\u2028' || c == '\u2029') {
                int end = line.length();
                while (end > 0 && (line.charAt(end - 1) == ' ' || line.charAt(end - 1) == '\t')) {
                    end--;
                }
                if (end == 0) {
                    blankRun++;
                } else {
                    if (started) {
                        out.append(blankRun > 0 ? "\n\n" : "\n");
                    }
                    started = true;
                    out.append(line, 0, end);
                    blankRun = 0;
                }
                line.setLength(0);
            } else if (c != ' ' && Character.getType(c) == Character.SPACE_SEPARATOR) {
                line.append(' ');
            } else {
                line.append(c);
            }
        }
        return out.toString();
    }

    /** One scan for anything the rewrite would change; most documents have nothing. */
    static boolean needsWork(String text) {
        int n = text.length();
        if (n == 0) {
            return false;
        }
        char last = text.charAt(n - 1);
        if (text.charAt(0) == '\n' || last == '\n' || last == ' ' || last == '\t') {
            return true;
        }
        int newlines = 0;
        char previous = 0;
        for (int i = 0; i < n; i++) {
            char c = text.charAt(i);
            if (c == '\n') {
                if (previous == ' ' || previous == '\t' || ++newlines >= 3) {
                    return true; // a line end with spaces, or two blank lines in a row
                }
            } else {
                newlines = 0;
                if (c >= 0x80 && (c == '\u2028' || c == '\u2029' || Character.getType(c) == Character.SPACE_SEPARATOR)) {
                    return true;
                }
            }
            previous = c;
        }
        return false;
    }
}
