package io.troupe.worker.gradcheck;

import io.troupe.model.gpt.ParameterLayout;
import io.troupe.model.graph.DType;
import io.troupe.model.graph.TensorData;
import io.troupe.model.seq2seq.Seq2SeqConfig;
import io.troupe.model.seq2seq.Seq2SeqGraphs;
import io.troupe.model.seq2seq.Seq2SeqInit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * A tiny encoder-decoder's label-smoothed translation loss ({@link Seq2SeqGraphs#training}):
 * the shared embedding tied to the output, bidirectional encoder attention under a source padding
 * bias, causal decoder self-attention, cross-attention, and a loss that ignores target padding;
 * the gradient of every parameter against finite differences. Both sides carry padding.
 *
 * @param config the model; dropout must be 0
 * @param srcLengths real source tokens per row (the batch is their count)
 * @param tgtLengths real target tokens per row (BOS/EOS included)
 * @param seed seed of the parameters and tokens
 */
public record Seq2SeqCase(Seq2SeqConfig config, long[] srcLengths, long[] tgtLengths, long seed)
        implements GradientCase {

    public Seq2SeqCase {
        if (config.dropout() != 0) {
            throw new IllegalArgumentException("the gradient check needs dropout 0, got " + config.dropout());
        }
        if (srcLengths.length != tgtLengths.length || srcLengths.length == 0) {
            throw new IllegalArgumentException("one source and one target length per row");
        }
    }

    /** The case {@code troupe gradcheck} runs: 1+1 layers, C = 8, label smoothing 0.1, padded rows. */
    public static Seq2SeqCase tiny() {
        return new Seq2SeqCase(new Seq2SeqConfig(13, 6, 6, 1, 1, 2, 8, 16, 0.0, 0.1),
                new long[] {5, 3}, new long[] {4, 2}, 21);
    }

    @Override
    public String opType() {
        return "seq2seq";
    }

    @Override
    public String name() {
        return "enc=" + config.encoderLayers() + " dec=" + config.decoderLayers() + " C=" + config.nEmbd()
                + " smoothing=" + config.labelSmoothing() + " B=" + srcLengths.length;
    }

    @Override
    public Tolerance tolerance(DType precision) {
        return precision == DType.FLOAT ? GptCase.FLOAT_TOLERANCE : Tolerance.defaultFor(precision);
    }

    @Override
    public CheckableModel build(DType precision, GradientHook hook) {
        if (hook != GradientHook.NONE) {
            throw new UnsupportedOperationException("the seq2seq case checks Seq2SeqGraphs' own gradients");
        }
        int batch = srcLengths.length;
        int s = (int) java.util.Arrays.stream(srcLengths).max().orElseThrow();
        int t = (int) java.util.Arrays.stream(tgtLengths).max().orElseThrow();
        ParameterLayout layout = config.layout();
        float[] flat = Seq2SeqInit.initial(config, seed);
        SplittableRandom random = new SplittableRandom(seed ^ 0x5DEECE66DL);
        for (int i = 0; i < flat.length; i++) {
            flat[i] += (float) (GptCase.JITTER * random.nextGaussian());
        }
        Seq2SeqGraphs.Built graph = Seq2SeqGraphs.training(config, batch, s, t, precision, 0);
        List<CheckableModel.Parameter> params = new ArrayList<>();
        for (ParameterLayout.View v : layout.views()) {
            double[] values = new double[Math.toIntExact(v.length())];
            for (int i = 0; i < values.length; i++) {
                values[i] = flat[Math.toIntExact(v.offset() + i)];
            }
            params.add(new CheckableModel.Parameter(v.name(), v.shape(), values));
        }
        long[] src = new long[batch * s];
        long[] tgtIn = new long[batch * t];
        long[] targets = new long[batch * t];
        int v = config.vocabSize();
        for (int b = 0; b < batch; b++) {
            for (int i = 0; i < s; i++) {
                src[b * s + i] = random.nextLong(v); // padding gets token ids too: the bias must hide them
            }
            for (int i = 0; i < t; i++) {
                tgtIn[b * t + i] = random.nextLong(v);
                targets[b * t + i] = i < tgtLengths[b] ? random.nextLong(v) : Seq2SeqGraphs.IGNORE;
            }
        }
        Map<String, TensorData> feeds = Map.of(
                Seq2SeqGraphs.SRC, TensorData.ofLongs(src, batch, s),
                Seq2SeqGraphs.SRC_LENGTHS, TensorData.ofLongs(srcLengths.clone(), batch),
                Seq2SeqGraphs.TGT_IN, TensorData.ofLongs(tgtIn, batch, t),
                Seq2SeqGraphs.TARGETS, TensorData.ofLongs(targets, batch, t));
        return new CheckableModel(graph.toBytes(), precision, feeds, params);
    }

    @Override
    public String toString() {
        return label();
    }
}
