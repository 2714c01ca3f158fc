package io.troupe.worker.metrics;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.troupe.model.gpt.GptConfig;

/**
 * Model FLOPs utilisation (MFU) of a training run: the FLOP rate its matrix products need
 * ({@link GptConfig#trainingFlopsPerStep} of the global batch, over the step time) as a share
 * of the hardware's peak FLOP rate ({@code troupe.monitor} in reference.conf). Only the
 * model's FLOPs count, not recomputation or the optimizer, as in the PaLM paper's definition.
 *
 * @param flopsPerStep FLOPs of one optimizer step of the whole global batch
 * @param peakFlopsPerSecond the peak FLOP rate of all the hardware the run trains on
 */
public record ModelFlops(double flopsPerStep, double peakFlopsPerSecond) {

    /** Config path of the peak FLOP rate in GFLOP/s (0 = cores times the per-core peak). */
    public static final String PEAK_GFLOPS = "troupe.monitor.peak-gflops";
    /** Config path of one core's peak in GFLOP/s. */
    public static final String PEAK_GFLOPS_PER_CORE = "troupe.monitor.peak-gflops-per-core";

    public ModelFlops {
        if (!(peakFlopsPerSecond > 0) || !(flopsPerStep >= 0)) {
            throw new IllegalArgumentException("peak FLOP/s must be > 0 and FLOPs per step >= 0, got "
                    + peakFlopsPerSecond + " and " + flopsPerStep);
        }
    }

    /**
     * The FLOPs of a step of {@code batch} sequences of {@code blockSize} tokens of {@code model},
     * against the peak this process is configured with.
     */
    public static ModelFlops of(GptConfig model, int batch, int blockSize) {
        return new ModelFlops(model.trainingFlopsPerStep(batch, blockSize), configuredPeak(ConfigFactory.load()));
    }

    /**
     * The peak FLOP rate {@code config} sets: {@code peak-gflops}, or when it is 0 the CPUs of
     * this machine times {@code peak-gflops-per-core}.
     *
     * @throws IllegalArgumentException if a value is negative, or both are 0
     */
    public static double configuredPeak(Config config) {
        double gflops = config.getDouble(PEAK_GFLOPS);
        if (gflops < 0) {
            throw new IllegalArgumentException(PEAK_GFLOPS + " must be >= 0 (0 = measure by cores), got " + gflops);
        }
        if (gflops == 0) {
            double perCore = config.getDouble(PEAK_GFLOPS_PER_CORE);
            if (!(perCore > 0)) {
                throw new IllegalArgumentException(PEAK_GFLOPS_PER_CORE + " must be > 0, got " + perCore);
            }
            gflops = perCore * Runtime.getRuntime().availableProcessors();
        }
        return gflops * 1e9;
    }

    /** The MFU of a step that took {@code seconds}: achieved model FLOP/s over the peak (0 for a non-positive time). */
    public double ratio(double seconds) {
        return seconds > 0 ? flopsPerStep / seconds / peakFlopsPerSecond : 0;
    }
}
