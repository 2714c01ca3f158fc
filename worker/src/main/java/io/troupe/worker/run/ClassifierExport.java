package io.troupe.worker.run;

import io.troupe.data.io.AtomicFiles;
import io.troupe.data.labelled.LabelSet;
import io.troupe.model.gpt.ClassifierGraphs;
import io.troupe.model.gpt.ClassifierHead;
import io.troupe.model.bert.EncoderConfig;
import io.troupe.model.gpt.Backbone;
import io.troupe.model.gpt.GptConfig;
import io.troupe.model.graph.Graph;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Path;

/**
 * Writes a fine-tuned classifier as a self-contained {@code model.onnx} ({@code input_ids} and
 * {@code lengths} to {@code class_logits}) with its label set beside it ({@code labels.json}).
 * The metadata says what the model is ({@value #TASK} = {@value #CLASSIFY}), so generate can
 * refuse it and eval/predict know its classes and pooling.
 */
public final class ClassifierExport {
    /** Metadata key naming the model's task: {@value #CLASSIFY} here, absent (a language model) otherwise. */
    public static final String TASK = "troupe.task";
    /** The task of a classifier. */
    public static final String CLASSIFY = "classify";
    /** Metadata key holding the number of classes. */
    public static final String CLASSES = "troupe.classes";
    /** Metadata key holding the pooling (last or mean). */
    public static final String POOLING = "troupe.pooling";
    /** Metadata key holding an encoder classifier's {@link EncoderConfig#toMap()} as JSON. */
    public static final String ENCODER = "troupe.encoder";

    private ClassifierExport() {
    }

    private static String encoderJson(EncoderConfig cfg) {
        try {
            return new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(new java.util.TreeMap<>(cfg.toMap()));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("an encoder config of numbers and strings is always JSON", e);
        }
    }

    /** Writes {@code dir/labels.json}, then {@code dir/model.onnx} (the file that marks a finished export), atomically each. */
    public static Path write(Path dir, Backbone cfg, ClassifierHead head, float[] params, LabelSet labels)
            throws IOException {
        return write(dir, cfg, head, params, labels, null);
    }

    /**
     * As {@link #write(Path, Backbone, ClassifierHead, float[], LabelSet)}, for a model whose
     * texts are wrapped in special tokens.
     *
     * @param specialTokens "cls sep" ids stored under {@code troupe.special_tokens} (an encoder), or null
     */
    public static Path write(Path dir, Backbone cfg, ClassifierHead head, float[] params, LabelSet labels,
                             String specialTokens) throws IOException {
        if (labels.size() != head.classes()) {
            throw new IllegalArgumentException(labels.size() + " labels for a head of " + head.classes() + " classes");
        }
        labels.write(dir.resolve(LabelSet.FILE_NAME));
        Graph graph = ClassifierGraphs.inference(cfg, head, FloatBuffer.wrap(params));
        graph.metadata(TASK, CLASSIFY);
        graph.metadata(CLASSES, Integer.toString(head.classes()));
        graph.metadata(POOLING, head.pooling().label());
        graph.metadata(ModelExport.BLOCK_SIZE, Integer.toString(cfg.blockSize()));
        graph.metadata(ModelExport.VOCAB_SIZE, Integer.toString(cfg.vocabSize()));
        graph.metadata("troupe.n_layer", Integer.toString(cfg.nLayer()));
        if (cfg instanceof GptConfig gpt) {
            graph.metadata("troupe.n_head", Integer.toString(gpt.nHead()));
        } else if (cfg instanceof EncoderConfig enc) {
            graph.metadata("troupe.arch", "bert");
            graph.metadata("troupe.n_head", Integer.toString(enc.nHead()));
            // The whole shape (LayerNorm placement, GELU, epsilon, MLP width), so the weights can be
            // rebuilt into other graphs: explanations, a continued fine-tune.
            graph.metadata(ENCODER, encoderJson(enc));
        }
        if (specialTokens != null) {
            graph.metadata("troupe.special_tokens", specialTokens);
        }
        graph.metadata("troupe.n_embd", Integer.toString(cfg.nEmbd()));
        Path target = dir.resolve(ModelExport.FILE_NAME);
        AtomicFiles.write(target, graph::writeTo); // streamed: no array of the whole model
        return target;
    }
}
