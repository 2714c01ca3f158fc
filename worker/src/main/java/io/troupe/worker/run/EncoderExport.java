package io.troupe.worker.run;

import io.troupe.data.io.AtomicFiles;
import io.troupe.model.bert.EncoderConfig;
import io.troupe.model.bert.EncoderGraphs;
import io.troupe.model.graph.Graph;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Path;

/**
 * Writes a BERT-style encoder as a self-contained {@code model.onnx}: {@code input_ids} and
 * {@code lengths} to {@code last_hidden_state} and, with an MLM head, {@code logits}. Its metadata
 * says what it is ({@value ClassifierExport#TASK} = {@value #ENCODER}) and how texts are wrapped,
 * so {@code embed}, {@code fill-mask} and scoring read it and {@code generate} refuses it.
 */
public final class EncoderExport {
    /** The task of an encoder export. */
    public static final String ENCODER = "encoder";
    /** Metadata key: "bert". */
    public static final String ARCH = "troupe.arch";
    /** Metadata key: the whole {@link EncoderConfig} as JSON ({@link EncoderConfig#toMap}), so a run's export can be fine-tuned. */
    public static final String CONFIG = "troupe.encoder_config";
    /** Metadata key: the pooling {@code embed} uses (mean or cls). */
    public static final String POOLING = ClassifierExport.POOLING;

    private EncoderExport() {
    }

    /** The inference graph of {@code cfg} with its metadata, ready to serialize. */
    public static Graph graph(EncoderConfig cfg, float[] params, String specialTokens, String pooling) {
        Graph graph = EncoderGraphs.inference(cfg, FloatBuffer.wrap(params), cfg.mlmHead());
        graph.metadata(ClassifierExport.TASK, ENCODER);
        graph.metadata(ARCH, "bert");
        graph.metadata(POOLING, pooling);
        graph.metadata(ModelExport.BLOCK_SIZE, Integer.toString(cfg.blockSize()));
        graph.metadata(ModelExport.VOCAB_SIZE, Integer.toString(cfg.vocabSize()));
        graph.metadata("troupe.n_layer", Integer.toString(cfg.nLayer()));
        graph.metadata("troupe.n_head", Integer.toString(cfg.nHead()));
        graph.metadata("troupe.n_embd", Integer.toString(cfg.nEmbd()));
        try {
            graph.metadata(CONFIG, new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(
                    new java.util.TreeMap<>(cfg.toMap())));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("an encoder config of numbers and words is always JSON", e);
        }
        if (specialTokens != null) {
            graph.metadata("troupe.special_tokens", specialTokens);
        }
        return graph;
    }

    /** Writes {@code dir/model.onnx} atomically. */
    public static Path write(Path dir, EncoderConfig cfg, float[] params, String specialTokens, String pooling)
            throws IOException {
        Graph graph = graph(cfg, params, specialTokens, pooling);
        Path target = dir.resolve(ModelExport.FILE_NAME);
        AtomicFiles.write(target, graph::writeTo); // streamed: no array of the whole model
        return target;
    }
}
