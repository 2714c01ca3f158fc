package io.troupe.ops.inference;

import io.troupe.data.io.AtomicFiles;
import io.troupe.data.io.FileTrees;
import io.troupe.data.tokenize.CharTokenizer;
import io.troupe.data.tokenize.Tokenizer;
import io.troupe.model.gpt.GptConfig;
import io.troupe.model.gpt.ParameterInit;
import io.troupe.model.gpt.ParameterLayout;
import io.troupe.worker.run.ModelExport;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;
import java.util.Random;

/**
 * Times single-sequence decoding at a given context, with the KV cache ({@link KvCacheDecoder})
 * and without it ({@link UncachedBatchDecoder}), on an exported model directory. A step's context is
 * the number of tokens it attends over; the timed steps end at the requested context, so they
 * span the last {@code steps} positions before it.
 */
public final class DecodeBenchmark {
    /** GPT-2 124M's shape (L12 H12 C768 T1024 V50257, biases, tied embeddings). */
    public static final GptConfig GPT2 = new GptConfig(50257, 1024, 12, 12, 768, 0.0, true, true);

    /** Timings of one decoder: the prompt's prefill and the median and mean of the timed steps. */
    public record Timing(int promptTokens, int steps, double prefillMs, double medianMsPerToken, double meanMsPerToken) {
    }

    /** Both decoders at one context, and how many times faster the cached step is (by median). */
    public record Result(int context, Timing cached, Timing uncached) {
        public double speedup() {
            return uncached.medianMsPerToken() / cached.medianMsPerToken();
        }
    }

    private DecodeBenchmark() {
    }

    /**
     * Benchmarks the model in {@code dir} (it needs decoder.onnx, model.onnx and tokenizer.json).
     *
     * @param context tokens attended over by the last timed step; capped at block_size
     * @param cachedSteps timed steps of the cached decoder
     * @param uncachedSteps timed steps of the uncached one (each runs the whole context)
     */
    public static Result run(Path dir, int threads, int context, int cachedSteps, int uncachedSteps) throws Exception {
        try (KvCacheDecoder cached = KvCacheDecoder.open(dir, threads, Long.MAX_VALUE);
             ExportedModel model = ExportedModel.open(dir, threads);
             UncachedBatchDecoder uncached = new UncachedBatchDecoder(model, 1)) {
            if (context < 2) {
                throw new IllegalArgumentException("the context must be at least 2 tokens, got " + context);
            }
            int ctx = Math.min(context, cached.blockSize());
            Timing c = time(cached, ctx, Math.min(cachedSteps, ctx - 1));
            Timing u = time(uncached, ctx, Math.min(uncachedSteps, ctx - 1));
            return new Result(ctx, c, u);
        }
    }

    private static Timing time(BatchDecoder decoder, int context, int steps) throws Exception {
        Random random = new Random(1);
        int[] prompt = new int[context - steps];
        for (int i = 0; i < prompt.length; i++) {
            prompt[i] = random.nextInt(decoder.vocabSize());
        }
        // Warm-up: ORT's first runs allocate and plan; none of it is timed.
        BatchDecoder.Opened warm = decoder.open(prompt);
        for (int i = 0; i < 2; i++) {
            decoder.step(List.of(warm.slot()), new int[] {random.nextInt(decoder.vocabSize())});
        }
        decoder.release(warm.slot());
        long start = System.nanoTime();
        BatchDecoder.Opened opened = decoder.open(prompt);
        double prefillMs = (System.nanoTime() - start) / 1e6;
        double[] ms = new double[steps];
        try {
            for (int i = 0; i < steps; i++) {
                long t0 = System.nanoTime();
                decoder.step(List.of(opened.slot()), new int[] {random.nextInt(decoder.vocabSize())});
                ms[i] = (System.nanoTime() - t0) / 1e6;
            }
        } finally {
            decoder.release(opened.slot());
        }
        double mean = Arrays.stream(ms).average().orElse(0);
        Arrays.sort(ms);
        double median = steps == 0 ? 0 : steps % 2 == 1 ? ms[steps / 2] : (ms[steps / 2 - 1] + ms[steps / 2]) / 2;
        return new Timing(prompt.length, steps, prefillMs, median, mean);
    }

    /**
     * Exports a model of shape {@code cfg} with GPT-2-initialized random weights into a new
     * temporary directory, with a character tokenizer of V arbitrary characters (the benchmark
     * never decodes text). Delete it with {@link #delete}.
     */
    public static Path randomModel(GptConfig cfg, long seed) throws IOException {
        if (0x100 + cfg.vocabSize() > 0xD800) {
            throw new IllegalArgumentException("a random model's vocabulary is at most " + (0xD800 - 0x100) + " tokens");
        }
        Path dir = Files.createTempDirectory("troupe-bench-decode-");
        try {
            BitSet chars = new BitSet();
            chars.set(0x100, 0x100 + cfg.vocabSize()); // below the surrogates for any V up to 55k
            AtomicFiles.writeString(dir.resolve(Tokenizer.FILE_NAME), CharTokenizer.fromCodePoints(chars).toJson() + "\n");
            ModelExport.write(dir, cfg, ParameterInit.gpt2(cfg, ParameterLayout.of(cfg), seed));
            return dir;
        } catch (IOException | RuntimeException e) {
            delete(dir);
            throw e;
        }
    }

    /** Removes a directory made by {@link #randomModel}. */
    public static void delete(Path dir) throws IOException {
        FileTrees.deleteRecursively(dir);
    }
}
