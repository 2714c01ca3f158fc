package io.troupe.ops.translate;

import java.util.ArrayList;
import java.util.List;

/**
 * Whitespace splitting as Python's {@code str.split()} does it: sacreBLEU splits tokens and strips
 * spaces this way, and French text carries no-break and narrow no-break spaces (U+00A0, U+202F),
 * which Python counts as whitespace but {@code \s} and {@link Character#isWhitespace} do not.
 */
final class PyWhitespace {
    private PyWhitespace() {
    }

    /** True for the code points Python's {@code str.isspace()} accepts. */
    static boolean isSpace(int cp) {
        return Character.isWhitespace(cp) || Character.isSpaceChar(cp) || cp == 0x85;
    }

    /** Splits on runs of whitespace, dropping empty pieces, like {@code str.split()}. */
    static List<String> split(String line) {
        List<String> out = new ArrayList<>();
        int start = -1;
        int i = 0;
        while (i < line.length()) {
            int cp = line.codePointAt(i);
            if (isSpace(cp)) {
                if (start >= 0) {
                    out.add(line.substring(start, i));
                    start = -1;
                }
            } else if (start < 0) {
                start = i;
            }
            i += Character.charCount(cp);
        }
        if (start >= 0) {
            out.add(line.substring(start));
        }
        return out;
    }

    /** Strips trailing whitespace, like {@code str.rstrip()}. */
    static String rstrip(String line) {
        int end = line.length();
        while (end > 0) {
            int cp = line.codePointBefore(end);
            if (!isSpace(cp)) {
                break;
            }
            end -= Character.charCount(cp);
        }
        return line.substring(0, end);
    }
}
