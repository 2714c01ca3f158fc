package io.troupe.worker.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class EngineOptionsTest {

    @Test
    void cpuDefaultsToEveryOptimizationAndNoProfiling() {
        EngineOptions options = EngineOptions.cpu(4);
        assertEquals(new EngineOptions(4, Device.cpu(), GraphOptimization.ALL, Optional.empty()), options);
    }

    @Test
    void withersChangeOneThing() {
        EngineOptions options = EngineOptions.cpu(2)
                .withDevice(Device.cuda(1))
                .withOptimization(GraphOptimization.NONE)
                .withProfiling(Path.of("runs/profile"));
        assertEquals(new EngineOptions(2, Device.cuda(1), GraphOptimization.NONE, Optional.of(Path.of("runs/profile"))),
                options);
    }

    @Test
    void memorySettingsDefaultToOrtsAndSurviveTheOtherWithers() {
        assertEquals(EngineOptions.OrtMemory.DEFAULT, EngineOptions.cpu(1).memory());
        EngineOptions.OrtMemory lean = new EngineOptions.OrtMemory(false, false);
        EngineOptions options = EngineOptions.cpu(2).withMemory(lean).withIntraOpThreads(1)
                .withOptimization(GraphOptimization.BASIC).withProfiling(Path.of("p"));
        assertEquals(lean, options.memory());
        assertEquals(1, options.intraOpThreads());
    }

    @Test
    void needsAtLeastOneThread() {
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class, () -> EngineOptions.cpu(0));
        assertEquals("intraOpThreads must be >= 1, got 0", error.getMessage());
    }
}
