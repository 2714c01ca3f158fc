package io.troupe.ops.explain;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;

/**
 * One explanation: an attribution per token for the score of a target.
 *
 * @param tokens the attributed tokens as text
 * @param attributions one per token
 * @param target the label, the next token or the continuation the score is about
 * @param score f(x): the class logit or the log-probability explained
 * @param baseline what integrated gradients started from, in words; null for the other methods
 * @param baselineScore f(baseline) for integrated gradients, else null
 * @param completenessError |sum(attributions) - (f(x) - f(baseline))| for integrated gradients, else null
 * @param method how the attributions were computed
 * @param truncated tokens of the text left out because it is longer than the context (0 if none)
 */
public record Explanation(List<String> tokens, double[] attributions, String target, double score,
                          String baseline, Double baselineScore, Double completenessError, ExplainMethod method, int truncated) {
    /** The default baseline of integrated gradients: every token embedding zero, positions kept. */
    public static final String ZERO_BASELINE = "zero token embeddings (position embeddings kept)";

    /**
     * {@code {"tokens","attributions","target","score","baseline_score","completeness_error"}};
     * the last two are null for methods without a baseline.
     */
    public ObjectNode toJson(ObjectMapper json) {
        ObjectNode o = json.createObjectNode();
        ArrayNode t = o.putArray("tokens");
        tokens.forEach(t::add);
        ArrayNode a = o.putArray("attributions");
        for (double v : attributions) {
            a.add(v);
        }
        o.put("target", target);
        o.put("score", score);
        o.put("baseline_score", baselineScore);
        o.put("completeness_error", completenessError);
        return o;
    }
}
