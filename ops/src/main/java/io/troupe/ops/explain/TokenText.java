package io.troupe.ops.explain;

import io.troupe.data.tokenize.Tokenizer;
import java.util.ArrayList;
import java.util.List;

/** Token ids and their text, for showing attributions token by token. */
final class TokenText {
    private TokenText() {
    }

    /** Each id decoded alone (a character, a BPE piece). */
    static List<String> pieces(Tokenizer tokenizer, long[] ids, int count) {
        List<String> out = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            out.add(tokenizer.decode(new int[] {(int) ids[i]}));
        }
        return out;
    }

    /** Rows of a [V, C] table for {@code ids}: [ids.length * C]. */
    static float[] rows(float[] table, int width, long[] ids) {
        float[] out = new float[ids.length * width];
        for (int t = 0; t < ids.length; t++) {
            System.arraycopy(table, Math.toIntExact(ids[t] * width), out, t * width, width);
        }
        return out;
    }
}
