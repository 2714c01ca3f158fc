package io.troupe.worker.bench;

import io.troupe.model.graph.DType;
import io.troupe.model.gpt.ActivationCheckpointing;
import io.troupe.model.gpt.Precision;
import io.troupe.model.gpt.GptConfig;
import io.troupe.model.gpt.GptGraphs;
import io.troupe.model.gpt.ParameterInit;
import io.troupe.model.gpt.TrainingGraph;
import io.troupe.worker.engine.EngineException;
import io.troupe.worker.engine.EngineOptions;
import io.troupe.worker.engine.BatchParallelEngine;
import io.troupe.worker.train.Bf16Rounding;
import io.troupe.model.gpt.ParameterLayout;
import java.util.List;
import io.troupe.worker.run.Trainer;
import java.nio.LongBuffer;
import java.nio.file.Path;
import io.troupe.worker.stats.Median;
import java.util.SplittableRandom;

/**
 * Times one training step (forward, loss and every parameter gradient) of a GPT in ORT, after
 * warm-up; reports the median. It runs the engine training runs ({@link BatchParallelEngine}:
 * with T threads, T one-thread lanes each take a share of the batch rows) and includes
 * combining the lanes' gradients. The optimizer is not included (see {@link OptimizerBenchmark}).
 */
public final class StepBenchmark {

    /** What one benchmark measured. */
    public record Result(String config, int threads, int lanes, double msPerStep, double tokensPerSecond,
                         double stepGflops, Path profile) {
    }

    /**
     * How the measured step is built and run, beyond the config's defaults.
     *
     * @param batch rows per step (0: the config's batch)
     * @param checkpointing what the backward pass recomputes
     * @param memory ORT's arena and memory-pattern settings
     * @param precision fp32 or bf16-storage (fp16's graph takes a loss-scale input this benchmark does not feed)
     */
    public record Variant(int batch, ActivationCheckpointing checkpointing, EngineOptions.OrtMemory memory,
                          Precision precision) {
        /** The config's batch, no recomputation, ORT's default memory settings, fp32. */
        public static final Variant DEFAULT = new Variant(0, ActivationCheckpointing.NONE, EngineOptions.OrtMemory.DEFAULT,
                Precision.FP32);

        /** @throws IllegalArgumentException for fp16 */
        public Variant {
            if (precision == Precision.FP16) {
                throw new IllegalArgumentException("the step benchmark runs fp32 or bf16-storage, not fp16");
            }
        }

        /** An fp32 variant. */
        public Variant(int batch, ActivationCheckpointing checkpointing, EngineOptions.OrtMemory memory) {
            this(batch, checkpointing, memory, Precision.FP32);
        }
    }

    private StepBenchmark() {
    }

    /**
     * @param profilePrefix when not null, ORT's profiler records the timed runs there
     */
    public static Result run(BenchConfig config, int threads, int warmups, int runs, Path profilePrefix)
            throws EngineException {
        return run(config, threads, threads, warmups, runs, profilePrefix);
    }

    /**
     * @param lanes sessions the batch is split over; 1 runs one session with {@code threads} intra-op threads
     */
    public static Result run(BenchConfig config, int threads, int lanes, int warmups, int runs, Path profilePrefix)
            throws EngineException {
        return run(config, threads, lanes, warmups, runs, profilePrefix, Variant.DEFAULT);
    }

    /**
     * @param variant batch, activation checkpointing and ORT memory settings
     */
    public static Result run(BenchConfig config, int threads, int lanes, int warmups, int runs, Path profilePrefix,
                             Variant variant) throws EngineException {
        GptConfig cfg = config.model();
        int b = variant.batch() > 0 ? variant.batch() : config.batch();
        int t = cfg.blockSize();
        ParameterLayout layout = ParameterLayout.of(cfg);
        EngineOptions options = EngineOptions.cpu(threads).withMemory(variant.memory());
        if (profilePrefix != null) {
            options = options.withProfiling(profilePrefix);
        }
        double[] millis = new double[runs];
        Path profile = null;
        int laneCount;
        float[] gradients = new float[Math.toIntExact(layout.size())];
        // The same engine training uses: with T threads, the batch runs on T one-thread lanes.
        try (BatchParallelEngine engine = BatchParallelEngine.create(
                (lane, rows) -> (variant.precision() == Precision.FP32
                        ? GptGraphs.training(cfg, rows, t, DType.FLOAT, 0, variant.checkpointing())
                        : GptGraphs.training(cfg, rows, t, DType.FLOAT, 0, null, null, null, variant.checkpointing(),
                                variant.precision())).toBytes(),
                Trainer.flatLayout(layout),
                options, b, t, List.of(TrainingGraph.TOKENS, TrainingGraph.TARGETS), lanes)) {
            float[] params = ParameterInit.gpt2(cfg, layout, 1);
            if (variant.precision() == Precision.BF16_STORAGE) {
                Bf16Rounding.roundNearest(params);
            }
            engine.setParameters(params);
            SplittableRandom random = new SplittableRandom(1);
            fill(engine.batch(TrainingGraph.TOKENS), random, cfg.vocabSize());
            fill(engine.batch(TrainingGraph.TARGETS), random, cfg.vocabSize());
            for (int i = 0; i < warmups; i++) {
                engine.step(gradients);
            }
            for (int i = 0; i < runs; i++) {
                long start = System.nanoTime();
                engine.step(gradients);
                millis[i] = (System.nanoTime() - start) / 1e6;
            }
            laneCount = engine.lanes();
            if (profilePrefix != null) {
                profile = engine.endProfiling();
            }
        }
        double median = Median.of(millis);
        double flops = cfg.trainingFlopsPerStep(b, t);
        return new Result(config.label(), threads, laneCount, median, b * t / (median / 1000), flops / (median / 1000) / 1e9,
                profile);
    }

    private static void fill(LongBuffer buffer, SplittableRandom random, int vocab) {
        for (int i = 0; i < buffer.capacity(); i++) {
            buffer.put(i, random.nextInt(vocab));
        }
    }
}
