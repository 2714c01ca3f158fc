package io.troupe.ops.inference;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.troupe.data.DataException;
import io.troupe.data.labelled.LabelSet;
import io.troupe.data.labelled.LabelledExample;
import io.troupe.data.tokenize.Tokenizer;
import io.troupe.model.gpt.ClassifierGraphs;
import io.troupe.model.gpt.GptGraphs;
import io.troupe.worker.finetune.EncodedExamples;
import io.troupe.worker.finetune.SpecialTokens;
import io.troupe.worker.run.ClassifierExport;
import io.troupe.worker.run.ModelExport;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A fine-tuned classifier exported by {@code troupe finetune --task classify}: {@code model.onnx}
 * (metadata {@code troupe.task=classify}), {@code tokenizer.json} and {@code labels.json}. Texts
 * are encoded as in training (cut to block_size, characters outside the vocabulary dropped),
 * right-padded in batches and scored by the model's {@code class_logits}.
 */
public final class ExportedClassifier implements AutoCloseable {
    private static final int BATCH = 32;
    private final OrtEnvironment env;
    private final OrtSession session;
    private final Tokenizer tokenizer;
    private final LabelSet labels;
    private final int blockSize;
    private SpecialTokens specials;

    private ExportedClassifier(OrtEnvironment env, OrtSession session, Tokenizer tokenizer, LabelSet labels,
                               int blockSize) {
        this.env = env;
        this.session = session;
        this.tokenizer = tokenizer;
        this.labels = labels;
        this.blockSize = blockSize;
    }

    /**
     * Opens the classifier in {@code dir}.
     *
     * @throws DataException when a file is missing, the model is a language model, or the files disagree
     */
    public static ExportedClassifier open(Path dir, int threads) throws DataException {
        Path modelFile = dir.resolve(ModelExport.FILE_NAME);
        if (!Files.isRegularFile(modelFile)) {
            throw new DataException(modelFile + " does not exist; pass the --out directory of troupe finetune --task classify");
        }
        Tokenizer tokenizer = Tokenizer.load(dir);
        OrtSession session = ExportedSession.open(modelFile, threads);
        try {
            Map<String, String> meta = session.getMetadata().getCustomMetadata();
            if (!ClassifierExport.CLASSIFY.equals(meta.get(ClassifierExport.TASK))) {
                throw new DataException(modelFile + " is a language model, not a classifier; use troupe generate or"
                        + " troupe eval --task lm, or fine-tune it with troupe finetune --task classify");
            }
            LabelSet labels = LabelSet.read(dir.resolve(LabelSet.FILE_NAME));
            int classes = Integer.parseInt(meta.get(ClassifierExport.CLASSES));
            if (labels.size() != classes) {
                throw new DataException(dir.resolve(LabelSet.FILE_NAME) + " names " + labels.size() + " labels but "
                        + modelFile + " has " + classes + " classes; they come from different runs");
            }
            ExportedClassifier opened = new ExportedClassifier(ExportedSession.environment(), session, tokenizer, labels,
                    Integer.parseInt(meta.get(ModelExport.BLOCK_SIZE)));
            // An encoder reads [CLS] text [SEP], as in training.
            opened.specials = SpecialTokens.fromMetadata(meta);
            return opened;
        } catch (OrtException e) {
            ExportedSession.closeQuietly(session);
            throw new DataException(modelFile + " is not a loadable ONNX model: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            ExportedSession.closeQuietly(session);
            throw e;
        }
    }

    public LabelSet labels() {
        return labels;
    }

    /** Context length: longer texts are cut to their first block_size tokens. */
    public int blockSize() {
        return blockSize;
    }

    public Tokenizer tokenizer() {
        return tokenizer;
    }

    /** Tokens the model reads of each text: encoded as in training (unknown characters dropped, cut to block_size). */
    public int[] tokenCounts(List<String> texts) {
        List<LabelledExample> rows = new ArrayList<>();
        for (String text : texts) {
            rows.add(new LabelledExample(text.isEmpty() ? " " : text, 0, "input"));
        }
        EncodedExamples encoded = EncodedExamples.encode(rows, tokenizer, blockSize, specials);
        int[] counts = new int[texts.size()];
        for (int i = 0; i < counts.length; i++) {
            counts[i] = encoded.tokens().get(i).length;
        }
        return counts;
    }

    /** Class probabilities (softmax of the logits) of each text, [texts][classes]. */
    public float[][] probabilities(List<String> texts) throws OrtException {
        List<LabelledExample> rows = new ArrayList<>();
        for (String text : texts) {
            rows.add(new LabelledExample(text.isEmpty() ? " " : text, 0, "input"));
        }
        EncodedExamples encoded = EncodedExamples.encode(rows, tokenizer, blockSize, specials);
        float[][] out = new float[texts.size()][];
        for (int from = 0; from < texts.size(); from += BATCH) {
            int n = Math.min(BATCH, texts.size() - from);
            int t = 1;
            for (int i = 0; i < n; i++) {
                t = Math.max(t, encoded.tokens().get(from + i).length);
            }
            long[] ids = new long[n * t];
            long[] lengths = new long[n];
            for (int i = 0; i < n; i++) {
                long[] row = encoded.tokens().get(from + i);
                System.arraycopy(row, 0, ids, i * t, row.length);
                lengths[i] = row.length;
            }
            try (OnnxTensor idTensor = OnnxTensor.createTensor(env, LongBuffer.wrap(ids), new long[] {n, t});
                 OnnxTensor lengthTensor = OnnxTensor.createTensor(env, LongBuffer.wrap(lengths), new long[] {n});
                 OrtSession.Result result = session.run(Map.of(GptGraphs.INPUT_IDS, idTensor,
                         ClassifierGraphs.LENGTHS, lengthTensor))) {
                FloatBuffer logits = ((OnnxTensor) result.get(ClassifierGraphs.CLASS_LOGITS).orElseThrow())
                        .getFloatBuffer();
                int k = labels.size();
                for (int i = 0; i < n; i++) {
                    out[from + i] = softmax(logits, i * k, k);
                }
            }
        }
        return out;
    }

    private static float[] softmax(FloatBuffer logits, int from, int k) {
        double max = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < k; j++) {
            max = Math.max(max, logits.get(from + j));
        }
        double sum = 0;
        double[] e = new double[k];
        for (int j = 0; j < k; j++) {
            e[j] = Math.exp(logits.get(from + j) - max);
            sum += e[j];
        }
        float[] p = new float[k];
        for (int j = 0; j < k; j++) {
            p[j] = (float) (e[j] / sum);
        }
        return p;
    }

    /** The index of the largest probability. */
    public static int argmax(float[] p) {
        int best = 0;
        for (int j = 1; j < p.length; j++) {
            if (p[j] > p[best]) {
                best = j;
            }
        }
        return best;
    }

    @Override
    public void close() throws OrtException {
        session.close();
    }
}
