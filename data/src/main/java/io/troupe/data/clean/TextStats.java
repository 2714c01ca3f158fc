package io.troupe.data.clean;

import io.troupe.data.dedup.Hashing;
import io.troupe.data.dedup.LongHashSet;

/**
 * The numbers the document filters look at, gathered in one pass over the text.
 *
 * @param chars UTF-16 chars (the length limits count these, as String.length)
 * @param nonSpace code points that are not whitespace
 * @param letters code points that are letters
 * @param words whitespace-separated words
 * @param wordChars code points inside words
 * @param lines non-blank lines
 * @param duplicateLines non-blank lines equal to an earlier line of the document
 */
public record TextStats(int chars, int nonSpace, int letters, int words, long wordChars, int lines,
        int duplicateLines) {

    /** Measures {@code text}. */
    public static TextStats of(String text) {
        int nonSpace = 0;
        int letters = 0;
        int words = 0;
        long wordChars = 0;
        boolean inWord = false;
        for (int i = 0; i < text.length(); i++) {
            int c = text.charAt(i);
            boolean space;
            boolean letter;
            if (c < 128) { // ASCII fast path: Character's Unicode tables cost a lookup per call
                space = c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1C && c <= 0x1F);
                int folded = c | 0x20;
                letter = folded >= 'a' && folded <= 'z';
            } else {
                if (Character.isHighSurrogate((char) c) && i + 1 < text.length()) {
                    c = text.codePointAt(i); // a letter outside the BMP (CJK Ext. B, historic scripts)
                    i += Character.charCount(c) - 1;
                }
                space = Character.isWhitespace(c) || Character.isSpaceChar(c);
                letter = Character.isLetter(c);
            }
            if (space) {
                inWord = false;
                continue;
            }
            nonSpace++;
            wordChars++;
            if (!inWord) {
                words++;
                inWord = true;
            }
            if (letter) {
                letters++;
            }
        }
        int lines = 0;
        int duplicates = 0;
        LongHashSet seen = new LongHashSet();
        int start = 0;
        while (start < text.length()) {
            int end = text.indexOf('\n', start);
            if (end < 0) {
                end = text.length();
            }
            if (!isBlank(text, start, end)) {
                lines++;
                // A 64-bit hash stands for the line: a collision would only miscount one line.
                if (seen.add(Hashing.hash(text, start, end)) != LongHashSet.Add.ADDED) {
                    duplicates++;
                }
            }
            start = end + 1;
        }
        return new TextStats(text.length(), nonSpace, letters, words, wordChars, lines, duplicates);
    }

    private static boolean isBlank(String text, int from, int to) {
        for (int i = from; i < to; i++) {
            if (!Character.isWhitespace(text.charAt(i))) {
                return false;
            }
        }
        return true;
    }

    /** Letters among non-space characters; 0 for a text without any. */
    public double alphaFraction() {
        return nonSpace == 0 ? 0 : (double) letters / nonSpace;
    }

    /** Repeated non-blank lines among all non-blank lines; 0 without lines. */
    public double duplicateLineFraction() {
        return lines == 0 ? 0 : (double) duplicateLines / lines;
    }

    /** Mean characters per word; 0 without words. */
    public double meanWordLength() {
        return words == 0 ? 0 : (double) wordChars / words;
    }
}
