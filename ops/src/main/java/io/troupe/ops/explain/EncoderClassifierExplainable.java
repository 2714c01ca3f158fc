package io.troupe.ops.explain;

import ai.onnxruntime.OrtException;
import io.troupe.data.DataException;
import io.troupe.data.labelled.LabelSet;
import io.troupe.data.labelled.LabelledExample;
import io.troupe.data.tokenize.HfJsonTokenizer;
import io.troupe.data.tokenize.Tokenizer;
import io.troupe.model.bert.EncoderConfig;
import io.troupe.model.bert.EncoderScoreModels;
import io.troupe.model.explain.ScoreModel;
import io.troupe.model.gpt.ClassifierGraphs;
import io.troupe.model.gpt.ClassifierHead;
import io.troupe.model.gpt.GptScoreModels;
import io.troupe.model.gpt.Pooling;
import io.troupe.model.graph.DType;
import io.troupe.worker.finetune.EncodedExamples;
import io.troupe.worker.finetune.SpecialTokens;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;

/**
 * An encoder (BERT) classifier ({@code finetune --from onnx:FILE --task classify}) explained by
 * the logit of one class. The text is encoded as {@code predict} encodes it, {@code [CLS] text
 * [SEP]}, cut before the [SEP] to the position table. Every position is attributed, the specials
 * included. Integrated gradients start from the [MASK] embedding at every text position (the
 * pad embedding when the vocabulary has no [MASK]) with [CLS] and [SEP] kept: the baseline is
 * "the same frame, every word hidden", so the specials' attributions are zero by construction.
 */
final class EncoderClassifierExplainable implements ExplainableModel {
    private final EncoderConfig cfg;
    private final ClassifierHead head;
    private final float[] params;
    private final Tokenizer tokenizer;
    private final SpecialTokens specials;
    private final long neutral;
    private final String neutralName;
    private final LabelSet labels;
    private final ScoreModel scoreModel;

    private EncoderClassifierExplainable(EncoderConfig cfg, ClassifierHead head, float[] params, Tokenizer tokenizer,
                                         SpecialTokens specials, long neutral, String neutralName, LabelSet labels) {
        this.cfg = cfg;
        this.head = head;
        this.params = params;
        this.tokenizer = tokenizer;
        this.specials = specials;
        this.neutral = neutral;
        this.neutralName = neutralName;
        this.labels = labels;
        this.scoreModel = EncoderScoreModels.classifier(cfg, head, params, DType.FLOAT);
    }

    static EncoderClassifierExplainable open(Path dir, ExportedWeights weights) throws DataException {
        EncoderConfig cfg = weights.encoderConfig();
        ExportedClassifierParts parts = ExportedClassifierParts.read(dir, weights, Pooling.MEAN, cfg.vocabSize());
        SpecialTokens specials = SpecialTokens.fromMetadata(weights.metadata());
        if (specials == null) {
            throw new DataException(weights.file() + " is an encoder classifier without its [CLS]/[SEP] ids ("
                    + SpecialTokens.METADATA + "); run its troupe finetune again");
        }
        Tokenizer tokenizer = parts.tokenizer();
        long neutral = 0;
        String neutralName = "[PAD] (id 0) embeddings";
        if (tokenizer instanceof HfJsonTokenizer hf) {
            OptionalInt mask = hf.tokenId("[MASK]");
            OptionalInt pad = hf.tokenId("[PAD]");
            if (mask.isPresent()) {
                neutral = mask.getAsInt();
                neutralName = "[MASK] embeddings";
            } else if (pad.isPresent()) {
                neutral = pad.getAsInt();
                neutralName = "[PAD] embeddings";
            }
        }
        ClassifierHead head = parts.head();
        return new EncoderClassifierExplainable(cfg, head, weights.parameters(ClassifierGraphs.layout(cfg, head)),
                tokenizer, specials, neutral, neutralName + " at the text's positions, [CLS] and [SEP] kept", parts.labels());
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
                Integer.MAX_VALUE, specials);
        long[] all = encoded.tokens().get(0);                    // [CLS] text [SEP]
        if (all.length <= 2) {
            throw ExplainException.invalid("text", "the text has no token the model's tokenizer knows");
        }
        int n = Math.min(all.length, cfg.blockSize());
        long[] ids = Arrays.copyOf(all, n);
        ids[n - 1] = specials.sep();                             // cut before the [SEP], as predict does
        double[] query = new double[n];
        switch (head.pooling()) {
            case CLS -> query[0] = 1;
            case LAST -> query[n - 1] = 1;
            default -> Arrays.fill(query, 1.0 / n);
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

    @Override
    public float[] baseline(PreparedText prepared) {
        long[] ids = prepared.ids().clone();
        for (int t = 1; t < ids.length - 1; t++) {
            ids[t] = neutral;
        }
        return embed(ids);
    }

    @Override
    public String baselineDescription() {
        return neutralName;
    }
}
