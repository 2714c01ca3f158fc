package io.troupe.data.tokenize;

import java.text.Normalizer;
import java.util.function.Consumer;

/**
 * BERT's uncased text preparation, as the Hugging Face {@code BertNormalizer} (clean text, CJK
 * ideographs as words of their own, accents stripped, lowercase) followed by
 * {@code BertPreTokenizer} (split at whitespace, every punctuation character a word of its own).
 *
 * <p>Used only to count words when {@link WordPieceTrainer} learns a vocabulary; encoding goes
 * through the Hugging Face library ({@link HfJsonTokenizer}) with the same normalizer and
 * pre-tokenizer named in the trained tokenizer.json, so a rare difference here would only shift
 * word counts, never produce ids the library would not.
 */
public final class BertWords {

    private BertWords() {
    }

    /** Calls {@code word} with each word of {@code text}, normalised, in order. */
    public static void forEachWord(String text, Consumer<String> word) {
        String stripped = Normalizer.normalize(text, Normalizer.Form.NFD);
        StringBuilder current = new StringBuilder();
        for (int i = 0; i < stripped.length(); ) {
            int c = stripped.codePointAt(i);
            i += Character.charCount(c);
            if (c == 0 || c == 0xFFFD || Character.getType(c) == Character.NON_SPACING_MARK) {
                continue;
            }
            if (isWhitespace(c)) {
                flush(current, word);
            } else if (isControl(c)) {
                continue;
            } else if (isPunctuation(c) || isCjk(c)) {
                flush(current, word);
                word.accept(new String(Character.toChars(c)));
            } else {
                current.appendCodePoint(Character.toLowerCase(c));
            }
        }
        flush(current, word);
    }

    private static void flush(StringBuilder current, Consumer<String> word) {
        if (current.length() > 0) {
            word.accept(current.toString());
            current.setLength(0);
        }
    }

    private static boolean isWhitespace(int c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r' || Character.getType(c) == Character.SPACE_SEPARATOR;
    }

    private static boolean isControl(int c) {
        int type = Character.getType(c);
        return type == Character.CONTROL || type == Character.FORMAT || type == Character.UNASSIGNED
                || type == Character.PRIVATE_USE || type == Character.SURROGATE;
    }

    /** ASCII symbols count as punctuation too, as in BERT ("$", "+", "^", "`"). */
    static boolean isPunctuation(int c) {
        if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126)) {
            return true;
        }
        return switch (Character.getType(c)) {
            case Character.CONNECTOR_PUNCTUATION, Character.DASH_PUNCTUATION, Character.START_PUNCTUATION,
                    Character.END_PUNCTUATION, Character.INITIAL_QUOTE_PUNCTUATION,
                    Character.FINAL_QUOTE_PUNCTUATION, Character.OTHER_PUNCTUATION -> true;
            default -> false;
        };
    }

    /** The CJK Unified Ideographs blocks BERT splits into single characters. */
    static boolean isCjk(int c) {
        return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF)
                || (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B820 && c <= 0x2CEAF)
                || (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
    }
}
