package io.troupe.worker.run;

import io.troupe.data.io.AtomicFiles;
import io.troupe.model.graph.Graph;
import io.troupe.model.gpt.GptConfig;
import io.troupe.model.gpt.GptGraphs;
import io.troupe.model.gpt.KvCacheGraphs;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Path;

/**
 * Writes the self-contained inference model ({@code model.onnx}): {@code input_ids} to
 * {@code logits}, weights as initializers, and the model shape in the metadata so that
 * generation needs nothing else; and beside it the decoder with a KV cache
 * ({@code decoder.onnx}, {@link KvCacheGraphs}), which generation uses when it is there. Each
 * file holds its own copy of the weights, so either runs alone.
 */
public final class ModelExport {
    /** Metadata key holding the context length. */
    public static final String BLOCK_SIZE = "troupe.block_size";
    /** Metadata key holding the vocabulary size. */
    public static final String VOCAB_SIZE = "troupe.vocab_size";
    /** The exported model's file name. */
    public static final String FILE_NAME = "model.onnx";
    /** The KV-cache decoder's file name (prefill and decode in one graph). */
    public static final String DECODER_FILE_NAME = "decoder.onnx";

    private ModelExport() {
    }

    /**
     * Builds the inference graph and the KV-cache decoder for {@code params} and writes them
     * atomically to {@code dir/decoder.onnx} and then {@code dir/model.onnx} (the file that marks
     * a directory as an export comes last).
     *
     * @return the path of model.onnx
     */
    public static Path write(Path dir, GptConfig cfg, float[] params) throws IOException {
        writeGraph(dir.resolve(DECODER_FILE_NAME), KvCacheGraphs.decoder(cfg, FloatBuffer.wrap(params)), cfg);
        return writeGraph(dir.resolve(FILE_NAME), GptGraphs.inference(cfg, FloatBuffer.wrap(params)), cfg);
    }

    private static Path writeGraph(Path target, Graph graph, GptConfig cfg) throws IOException {
        graph.metadata(BLOCK_SIZE, Integer.toString(cfg.blockSize()));
        graph.metadata(VOCAB_SIZE, Integer.toString(cfg.vocabSize()));
        graph.metadata("troupe.n_layer", Integer.toString(cfg.nLayer()));
        graph.metadata("troupe.n_head", Integer.toString(cfg.nHead()));
        graph.metadata("troupe.n_embd", Integer.toString(cfg.nEmbd()));
        AtomicFiles.write(target, graph::writeTo); // streamed: no array of the whole model
        return target;
    }
}
