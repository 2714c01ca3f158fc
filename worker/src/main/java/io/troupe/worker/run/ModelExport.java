package io.troupe.worker.run;

import io.troupe.data.io.AtomicFiles;
import io.troupe.model.graph.Graph;
import io.troupe.model.gpt.GptConfig;
import io.troupe.model.gpt.GptGraphs;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.nio.file.Path;

/**
 * Writes the self-contained inference model ({@code model.onnx}): {@code input_ids} to
 * {@code logits}, weights as initializers, and the model shape in the metadata so that
 * generation needs nothing else.
 */
public final class ModelExport {
    /** Metadata key holding the context length. */
    public static final String BLOCK_SIZE = "troupe.block_size";
    /** Metadata key holding the vocabulary size. */
    public static final String VOCAB_SIZE = "troupe.vocab_size";
    /** The exported model's file name. */
    public static final String FILE_NAME = "model.onnx";

    private ModelExport() {
    }

    /** Builds the inference graph for {@code params} and writes it atomically to {@code dir/model.onnx}. */
    public static Path write(Path dir, GptConfig cfg, float[] params) throws IOException {
        Graph graph = GptGraphs.inference(cfg, FloatBuffer.wrap(params));
        graph.metadata(BLOCK_SIZE, Integer.toString(cfg.blockSize()));
        graph.metadata(VOCAB_SIZE, Integer.toString(cfg.vocabSize()));
        graph.metadata("troupe.n_layer", Integer.toString(cfg.nLayer()));
        graph.metadata("troupe.n_head", Integer.toString(cfg.nHead()));
        graph.metadata("troupe.n_embd", Integer.toString(cfg.nEmbd()));
        byte[] bytes = graph.toBytes();
        Path target = dir.resolve(FILE_NAME);
        AtomicFiles.write(target, channel -> {
            ByteBuffer buffer = ByteBuffer.wrap(bytes);
            while (buffer.hasRemaining()) {
                channel.write(buffer);
            }
        });
        return target;
    }
}
