package io.troupe.ops.explain;

import ai.onnxruntime.OrtException;
import io.troupe.data.DataException;
import io.troupe.data.labelled.LabelSet;
import io.troupe.data.labelled.LabelledExample;
import io.troupe.data.tokenize.Tokenizer;
import io.troupe.model.explain.ScoreModel;
import io.troupe.model.gpt.ClassifierGraphs;
import io.troupe.model.gpt.ClassifierHead;
import io.troupe.model.gpt.GptConfig;
import io.troupe.model.gpt.GptScoreModels;
import io.troupe.model.gpt.Pooling;
import io.troupe.model.graph.DType;
import io.troupe.worker.finetune.EncodedExamples;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * A GPT classifier ({@code troupe finetune --task classify}) explained by the logit of one class:
 * the one named by the target, or the predicted one. The text is encoded as {@code predict}
 * encodes it: characters outside the vocabulary dropped, cut to the first block_size tokens.
 */
final class GptClassifierExplainable implements ExplainableModel {
    private final GptConfig cfg;
    private final ClassifierHead head;
    private final float[] params;
    private final Tokenizer tokenizer;
    private final LabelSet labels;
    private final ScoreModel scoreModel;

    private GptClassifierExplainable(GptConfig cfg, ClassifierHead head, float[] params, Tokenizer tokenizer,
                                     LabelSet labels) {
        this.cfg = cfg;
        this.head = head;
        this.params = params;
        this.tokenizer = tokenizer;
        this.labels = labels;
        this.scoreModel = GptScoreModels.classifier(cfg, head, params, DType.FLOAT);
    }

    static GptClassifierExplainable open(Path dir, ExportedWeights weights) throws DataException {
        GptConfig cfg = weights.config();
        ExportedClassifierParts parts = ExportedClassifierParts.read(dir, weights, Pooling.LAST, cfg.vocabSize());
        return new GptClassifierExplainable(cfg, parts.head(),
                weights.parameters(ClassifierGraphs.layout(cfg, parts.head())), parts.tokenizer(), parts.labels());
    }

    @Override
    public ScoreModel scoreModel() {
        return scoreModel;
    }

    @Override
    public PreparedText prepare(String text, String target, TargetPredictor predict) throws OrtException {
        Integer chosen = null;
        if (target != null) {
            chosen = labels.indexOf(target).orElseThrow(() -> ExplainException.invalid("target",
                    (target.equals(ExplainOptions.NEXT_TOKEN) ? "this model is a text classifier; it has no next token"
                            : "this classifier has no label '" + target + "'")
                            + ": the target must be one of its labels " + labels.names()));
        }
        EncodedExamples encoded = EncodedExamples.encode(List.of(new LabelledExample(text, 0, "input")), tokenizer,
                Integer.MAX_VALUE);
        long[] all = encoded.tokens().get(0);
        if (encoded.droppedCharacters() == text.codePointCount(0, text.length())) {
            throw ExplainException.invalid("text", "none of the text's characters is in the model's vocabulary");
        }
        int n = Math.min(all.length, cfg.blockSize());
        long[] ids = Arrays.copyOf(all, n);
        double[] query = new double[n];
        if (head.pooling() == Pooling.LAST) {
            query[n - 1] = 1;
        } else {
            Arrays.fill(query, 1.0 / n);
        }
        List<String> tokens = TokenText.pieces(tokenizer, ids, n);
        PreparedText prepared = prepared(tokens, ids, chosen == null ? 0 : chosen, query, all.length - n);
        if (chosen == null) {
            prepared = prepared(tokens, ids, predict.argmax(prepared), query, all.length - n);
        }
        return prepared;
    }

    private PreparedText prepared(List<String> tokens, long[] ids, int label, double[] query, int truncated) {
        return new PreparedText(tokens, ids, Map.of(ClassifierGraphs.LENGTHS, (long) ids.length,
                GptScoreModels.TARGET_CLASS, (long) label), Map.of(), query, labels.name(label), truncated);
    }

    @Override
    public float[] embed(long[] ids) {
        return TokenText.rows(params, cfg.nEmbd(), ids); // wte is the first parameter: [V, C]
    }
}
