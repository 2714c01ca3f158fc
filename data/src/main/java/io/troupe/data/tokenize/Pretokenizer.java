package io.troupe.data.tokenize;

import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * GPT-2's pre-tokenization: the regular expression that cuts text into words, numbers,
 * punctuation runs and whitespace before BPE merges bytes inside each piece. A merge never
 * crosses a piece boundary, so " the" and "the" are learnt as separate tokens and a token never
 * glues a word to the punctuation after it.
 *
 * <p>The same expression jtokkit uses for {@code r50k_base}, so Troupe's trained BPE splits text
 * exactly as GPT-2 does.
 */
public final class Pretokenizer {

    /** GPT-2's pattern: contractions, letter runs, digit runs, other runs, whitespace. */
    public static final String GPT2_REGEX =
            "'(?:[sdmt]|ll|ve|re)| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

    // UNICODE_CHARACTER_CLASS as jtokkit compiles it: \s must match Unicode spaces too.
    private static final Pattern GPT2 = Pattern.compile(GPT2_REGEX, Pattern.UNICODE_CHARACTER_CLASS);

    private Pretokenizer() {
    }

    /** The compiled GPT-2 pattern (thread-safe; every call makes its own Matcher). */
    public static Pattern gpt2Pattern() {
        return GPT2;
    }

    /** Calls {@code piece} with each piece of {@code text}, in order; they concatenate to it. */
    public static void forEachPiece(String text, Consumer<String> piece) {
        Matcher m = GPT2.matcher(text);
        while (m.find()) {
            piece.accept(m.group());
        }
    }
}
