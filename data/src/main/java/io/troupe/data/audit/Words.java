package io.troupe.data.audit;

/**
 * Splits text into words: maximal runs of letters ({@link Character#isLetter}). An apostrophe
 * ends a word, so "man's" yields "man" and "s"; digits and punctuation are separators.
 */
final class Words {
    private Words() {
    }

    /** Receives each word's span {@code [start, end)} in the text. */
    interface Visitor {
        void word(int start, int end);
    }

    static void scan(String text, Visitor visitor) {
        int n = text.length();
        int i = 0;
        while (i < n) {
            while (i < n && !Character.isLetter(text.charAt(i))) {
                i++;
            }
            int start = i;
            while (i < n && Character.isLetter(text.charAt(i))) {
                i++;
            }
            if (i > start) {
                visitor.word(start, i);
            }
        }
    }
}
