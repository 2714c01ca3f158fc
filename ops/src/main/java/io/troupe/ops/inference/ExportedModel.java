package io.troupe.ops.inference;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.troupe.data.DataException;
import io.troupe.data.tokenize.Tokenizer;
import io.troupe.worker.run.ClassifierExport;
import io.troupe.worker.run.ModelExport;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * An exported model directory opened for inference: {@code model.onnx} run by a plain ORT
 * session and {@code tokenizer.json}. Nothing from training is needed.
 */
public final class ExportedModel implements AutoCloseable {
    /**
     * Metadata key naming what a model does; "lm" (next-token logits) when absent, since
     * models exported before it existed are all language models.
     */
    public static final String TASK = ClassifierExport.TASK;
    /** The {@link #TASK} of a language model. */
    public static final String LANGUAGE_MODEL = "lm";

    private final OrtEnvironment env;
    private final OrtSession session;
    private final Tokenizer tokenizer;
    private final int blockSize;
    private final int vocabSize;
    private final Map<String, String> metadata;

    private ExportedModel(OrtEnvironment env, OrtSession session, Tokenizer tokenizer, int blockSize, int vocabSize,
            Map<String, String> metadata) {
        this.metadata = Map.copyOf(metadata);
        this.env = env;
        this.session = session;
        this.tokenizer = tokenizer;
        this.blockSize = blockSize;
        this.vocabSize = vocabSize;
    }

    /**
     * Opens {@code dir/model.onnx} and {@code dir/tokenizer.json}.
     *
     * @throws DataException when a file is missing or not a Troupe export
     */
    public static ExportedModel open(Path dir, int threads) throws DataException {
        Path modelFile = dir.resolve(ModelExport.FILE_NAME);
        if (!Files.isRegularFile(modelFile)) {
            throw new DataException(modelFile + " does not exist; pass the --out directory of a finished 'troupe train'");
        }
        Tokenizer tokenizer = Tokenizer.load(dir);
        OrtSession session = ExportedSession.open(modelFile, threads);
        try {
            Map<String, String> meta = session.getMetadata().getCustomMetadata();
            requireLanguageModel(modelFile, meta);
            String block = meta.get(ModelExport.BLOCK_SIZE);
            String vocab = meta.get(ModelExport.VOCAB_SIZE);
            if (block == null || vocab == null) {
                throw new DataException(modelFile + " has no Troupe metadata (" + ModelExport.BLOCK_SIZE
                        + "); export it with 'troupe train'");
            }
            int vocabSize = Integer.parseInt(vocab);
            if (vocabSize != tokenizer.vocabSize()) {
                throw new DataException(modelFile + " has a vocabulary of " + vocabSize + " but tokenizer.json has "
                        + tokenizer.vocabSize() + "; they come from different runs");
            }
            return new ExportedModel(ExportedSession.environment(), session, tokenizer, Integer.parseInt(block),
                    vocabSize, meta);
        } catch (OrtException e) {
            ExportedSession.closeQuietly(session);
            throw new DataException(modelFile + " is not a loadable ONNX model: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            ExportedSession.closeQuietly(session);
            throw e;
        }
    }

    /**
     * Refuses a model whose metadata names another task than a language model (a classifier has
     * no next-token logits to sample from).
     *
     * @throws DataException naming the task the model has
     */
    public static void requireLanguageModel(Path file, Map<String, String> metadata) throws DataException {
        String task = metadata.getOrDefault(TASK, LANGUAGE_MODEL);
        if (task.equals(ClassifierExport.CLASSIFY)) {
            throw new DataException(file + " is a text classifier (" + TASK + "=" + task + "), not a language model;"
                    + " use troupe predict or troupe eval --task classify with it");
        }
        if (!task.equals(LANGUAGE_MODEL)) {
            throw new DataException(file + " is a '" + task + "' model (" + TASK + "), not a language model (" + LANGUAGE_MODEL
                    + "): it cannot generate text");
        }
    }

    public Tokenizer tokenizer() {
        return tokenizer;
    }

    public int blockSize() {
        return blockSize;
    }

    public int vocabSize() {
        return vocabSize;
    }

    /** The model's custom ONNX metadata ({@code troupe.*} keys written by {@link ModelExport}). */
    public Map<String, String> metadata() {
        return metadata;
    }

    /**
     * Logits for a batch of equally long sequences.
     *
     * @param ids [batch * seq] token ids, row-major
     * @return [batch * seq * vocab] logits
     */
    public float[] logits(long[] ids, int batch, int seq) throws OrtException {
        if (seq < 1 || seq > blockSize) {
            throw new IllegalArgumentException("sequence length must be in [1, " + blockSize + "], got " + seq);
        }
        try (OnnxTensor input = OnnxTensor.createTensor(env, LongBuffer.wrap(ids), new long[] {batch, seq});
             OrtSession.Result result = session.run(Map.of("input_ids", input))) {
            FloatBuffer out = ((OnnxTensor) result.get("logits").orElseThrow()).getFloatBuffer();
            float[] values = new float[out.remaining()];
            out.get(values);
            return values;
        }
    }

    @Override
    public void close() throws OrtException {
        session.close();
    }
}
