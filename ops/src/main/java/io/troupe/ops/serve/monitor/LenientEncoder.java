package io.troupe.ops.serve.monitor;

import io.troupe.data.tokenize.Tokenizer;
import java.util.Arrays;

/**
 * Encodes any text for the monitor: where the tokenizer refuses a character (a character-level
 * model meeting new characters), that character is counted as out of vocabulary instead, the
 * extra bin of the token histogram. Out-of-vocabulary text is exactly what drift looks like, so
 * it must be counted, not refused.
 */
final class LenientEncoder {
    /** A text's ids (known tokens only) and how many of its characters had no token. */
    record Encoded(int[] ids, int unknown) {
        int length() {
            return ids.length + unknown;
        }
    }

    private final Tokenizer tokenizer;

    LenientEncoder(Tokenizer tokenizer) {
        this.tokenizer = tokenizer;
    }

    /** The bin of out-of-vocabulary characters in a token histogram: one past the vocabulary. */
    int unknownBin() {
        return tokenizer.vocabSize();
    }

    /** Bins of a token histogram: the vocabulary and the out-of-vocabulary bin. */
    int bins() {
        return tokenizer.vocabSize() + 1;
    }

    Encoded encode(String text) {
        try {
            return new Encoded(tokenizer.encode(text), 0);
        } catch (IllegalArgumentException unknownCharacter) {
            // Slow path, only for text the vocabulary cannot hold: one code point at a time.
            int[] ids = new int[text.length()];
            int count = 0;
            int unknown = 0;
            for (int cp : text.codePoints().toArray()) {
                try {
                    for (int id : tokenizer.encode(new String(Character.toChars(cp)))) {
                        if (count == ids.length) {
                            ids = Arrays.copyOf(ids, ids.length * 2 + 1);
                        }
                        ids[count++] = id;
                    }
                } catch (IllegalArgumentException none) {
                    unknown++;
                }
            }
            return new Encoded(Arrays.copyOf(ids, count), unknown);
        }
    }
}
