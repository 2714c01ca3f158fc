package io.troupe.data.audit;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Counterfactual data augmentation: a copy of a text with every word of a pair list swapped for
 * its partner ("he" to "she", "queen" to "king", and, when a name list is given, "John" to
 * "Mary"), keeping its case (lower, Capitalised or UPPER).
 *
 * <p>A word with several partners takes the first one in the list, except for two English
 * pronoun ambiguities, resolved by the word that follows:
 * <ul>
 *   <li>"her" becomes "his" (possessive: "her book") when a word follows that is not a function
 *       word, and "him" (object: "saw her.", "for her and", "told her the") otherwise;</li>
 *   <li>"his" becomes "her" before such a word ("his book") and "hers" otherwise ("it is his.").</li>
 * </ul>
 * The rule cannot see grammar: "gave her flowers" becomes "gave his flowers", and "her own"
 * becomes "his own" (right); names that are also words, and agreement elsewhere in the sentence,
 * are not handled.
 */
public final class Counterfactual {
    /** Words after which a pronoun is an object or stands alone, not a possessive determiner. */
    private static final Set<String> FUNCTION_WORDS = Set.of("a", "an", "the", "and", "or", "but", "nor", "so", "to",
            "of", "in", "on", "at", "by", "for", "with", "from", "into", "onto", "upon", "about", "as", "than",
            "that", "this", "these", "those", "if", "when", "while", "because", "before", "after", "up", "down",
            "out", "off", "over", "again", "too", "very", "not", "is", "was", "be", "been", "being", "are", "were",
            "had", "has", "have", "would", "could", "should", "will", "shall", "may", "might", "must", "do", "did",
            "does", "he", "she", "it", "they", "we", "you", "i", "him", "her", "his", "me", "us", "them", "there",
            "here", "then", "now", "all", "no", "yes", "what", "who", "whom", "which", "how", "why", "where", "s");

    private final WordPairs gendered;
    private final WordPairs names;

    /** @param names first-name pairs to swap too, or null to leave names alone */
    public Counterfactual(WordPairs gendered, WordPairs names) {
        this.gendered = gendered;
        this.names = names;
    }

    /** The swapped text and how many words changed (0: the text has no listed word). */
    public record Swapped(String text, int swaps) {
    }

    /** Returns {@code text} with every listed word swapped for its partner. */
    public Swapped swap(String text) {
        List<int[]> spans = new ArrayList<>();
        Words.scan(text, (start, end) -> spans.add(new int[] {start, end}));
        StringBuilder out = new StringBuilder(text.length() + 16);
        int copied = 0;
        int swaps = 0;
        for (int w = 0; w < spans.size(); w++) {
            int start = spans.get(w)[0];
            int end = spans.get(w)[1];
            String word = text.substring(start, end);
            String lower = word.toLowerCase(Locale.ROOT);
            String partner = partner(lower, text, end, w + 1 < spans.size() ? spans.get(w + 1) : null);
            if (partner == null) {
                continue;
            }
            out.append(text, copied, start).append(matchCase(word, partner));
            copied = end;
            swaps++;
        }
        if (swaps == 0) {
            return new Swapped(text, 0);
        }
        out.append(text, copied, text.length());
        return new Swapped(out.toString(), swaps);
    }

    private String partner(String lower, String text, int end, int[] next) {
        List<String> options = gendered.swapsOf(lower);
        if (options.isEmpty() && names != null) {
            options = names.swapsOf(lower);
        }
        if (options.isEmpty()) {
            return null;
        }
        if (lower.equals("her") || lower.equals("his")) {
            boolean beforeContentWord = next != null && onlySpacesBetween(text, end, next[0])
                    && !FUNCTION_WORDS.contains(text.substring(next[0], next[1]).toLowerCase(Locale.ROOT));
            String wanted = lower.equals("her") ? (beforeContentWord ? "his" : "him") : (beforeContentWord ? "her" : "hers");
            if (options.contains(wanted)) {
                return wanted;
            }
        }
        return options.get(0);
    }

    private static boolean onlySpacesBetween(String text, int from, int to) {
        for (int i = from; i < to; i++) {
            if (!Character.isWhitespace(text.charAt(i))) {
                return false;
            }
        }
        return true;
    }

    /** {@code partner} in the case of {@code word}: UPPER (two or more letters), Capitalised, or lower. */
    static String matchCase(String word, String partner) {
        if (word.length() > 1 && word.equals(word.toUpperCase(Locale.ROOT))) {
            return partner.toUpperCase(Locale.ROOT);
        }
        if (Character.isUpperCase(word.charAt(0))) {
            return Character.toUpperCase(partner.charAt(0)) + partner.substring(1);
        }
        return partner;
    }
}
