package io.troupe.worker.run;

import io.troupe.data.io.AtomicFiles;
import io.troupe.model.graph.Graph;
import io.troupe.model.gpt.GptConfig;
import io.troupe.model.gpt.GptGraphs;
import io.troupe.model.gpt.KvCacheGraphs;
import io.troupe.model.gpt.KvCacheStepGraph;
import io.troupe.worker.engine.FlatBuffer;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Path;

/**
 * Writes the self-contained inference model ({@code model.onnx}): {@code input_ids} to
 * {@code logits}, weights as initializers, and the model shape in the metadata so that
 * generation needs nothing else; and beside it the decoder with a KV cache
 * ({@code decoder.onnx}, {@link KvCacheGraphs}), which generation uses when it is there, and the
 * decode step that serving batches ({@code decoder_step.onnx}, {@link KvCacheStepGraph}). Each
 * file holds its own copy of the weights, so each runs alone (the export is three times the
 * weights on disk).
 */
public final class ModelExport {
    /** Metadata key holding the context length. */
    public static final String BLOCK_SIZE = "troupe.block_size";
    /** Metadata key holding the vocabulary size. */
    public static final String VOCAB_SIZE = "troupe.vocab_size";
    /** The exported model's file name. */
    public static final String FILE_NAME = "model.onnx";
    /**
     * Metadata key holding the weights' checksum ({@link FlatBuffer#checksum}, in hex), the same
     * in every graph of one export, so that graphs of different exports are not mixed.
     */
    public static final String WEIGHTS_CHECKSUM = "troupe.weights_crc32c";
    /** The KV-cache decoder's file name (prefill and decode in one graph). */
    public static final String DECODER_FILE_NAME = "decoder.onnx";
    /** The batched decode step over a cache kept in place ({@link KvCacheStepGraph}), used by serving. */
    public static final String DECODER_STEP_FILE_NAME = "decoder_step.onnx";

    private ModelExport() {
    }

    /**
     * Builds the inference graph, the KV-cache decoder and its step graph for {@code params} and
     * writes them atomically to {@code dir/decoder.onnx}, {@code dir/decoder_step.onnx} and then
     * {@code dir/model.onnx} (the file that marks a directory as an export comes last).
     *
     * @return the path of model.onnx
     */
    public static Path write(Path dir, GptConfig cfg, float[] params) throws IOException {
        String crc = Long.toHexString(FlatBuffer.checksum(params));
        writeGraph(dir.resolve(DECODER_FILE_NAME), KvCacheGraphs.decoder(cfg, FloatBuffer.wrap(params)), cfg, crc);
        writeGraph(dir.resolve(DECODER_STEP_FILE_NAME), KvCacheStepGraph.build(cfg, FloatBuffer.wrap(params)), cfg, crc);
        return writeGraph(dir.resolve(FILE_NAME), GptGraphs.inference(cfg, FloatBuffer.wrap(params)), cfg, crc);
    }

    private static Path writeGraph(Path target, Graph graph, GptConfig cfg, String crc) throws IOException {
        graph.metadata(WEIGHTS_CHECKSUM, crc);
        graph.metadata(BLOCK_SIZE, Integer.toString(cfg.blockSize()));
        graph.metadata(VOCAB_SIZE, Integer.toString(cfg.vocabSize()));
        graph.metadata("troupe.n_layer", Integer.toString(cfg.nLayer()));
        graph.metadata("troupe.n_head", Integer.toString(cfg.nHead()));
        graph.metadata("troupe.n_embd", Integer.toString(cfg.nEmbd()));
        AtomicFiles.write(target, graph::writeTo); // streamed: no array of the whole model
        return target;
    }
}
