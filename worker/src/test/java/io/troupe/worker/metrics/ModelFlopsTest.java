package io.troupe.worker.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import org.junit.jupiter.api.Test;

class ModelFlopsTest {

    private static Config peak(String gflops, String perCore) {
        return ConfigFactory.parseString(ModelFlops.PEAK_GFLOPS + " = " + gflops + "\n"
                + ModelFlops.PEAK_GFLOPS_PER_CORE + " = " + perCore);
    }

    @Test
    void anExplicitPeakWins() {
        assertEquals(250e9, ModelFlops.configuredPeak(peak("250", "100")), 0);
    }

    @Test
    void zeroMeansCoresTimesThePerCorePeak() {
        assertEquals(Runtime.getRuntime().availableProcessors() * 80e9, ModelFlops.configuredPeak(peak("0", "80")), 0);
    }

    @Test
    void theDefaultsAreDocumentedInReferenceConf() {
        Config reference = ConfigFactory.defaultReference();
        assertEquals(0, reference.getDouble(ModelFlops.PEAK_GFLOPS), 0);
        assertEquals(100, reference.getDouble(ModelFlops.PEAK_GFLOPS_PER_CORE), 0);
    }

    @Test
    void negativeOrZeroPeaksAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> ModelFlops.configuredPeak(peak("-1", "100")));
        assertThrows(IllegalArgumentException.class, () -> ModelFlops.configuredPeak(peak("0", "0")));
    }

    @Test
    void ratioIsModelFlopRateOverPeak() {
        ModelFlops flops = new ModelFlops(50e9, 100e9);
        assertEquals(0.25, flops.ratio(2.0), 1e-15); // 25 GFLOP/s of 100
        assertEquals(0, flops.ratio(0), 0);
    }
}
