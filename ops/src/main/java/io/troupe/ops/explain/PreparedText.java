package io.troupe.ops.explain;

import java.util.List;
import java.util.Map;

/**
 * A text made ready for one model's explanation graphs.
 *
 * @param tokens the attributed tokens as text, one per position 0 .. tokens.size() - 1
 * @param ids every token fed to the model (the attributed ones first; for a continuation, then its tokens but the last)
 * @param perRow int64 inputs holding one value per batch row, the same for every row
 * @param shared int64 inputs of their own length, the same for the whole batch
 * @param rolloutQuery weight of each position's row in attention rollout: the positions the score reads
 * @param target what the score is about, as shown to the user (a label, a token, a continuation)
 * @param truncated tokens of the text left out because it is longer than the context
 */
record PreparedText(List<String> tokens, long[] ids, Map<String, Long> perRow, Map<String, long[]> shared,
                    double[] rolloutQuery, String target, int truncated) {
    int attributed() {
        return tokens.size();
    }
}
