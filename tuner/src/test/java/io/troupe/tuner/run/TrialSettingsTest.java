package io.troupe.tuner.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.troupe.tuner.sampler.Sampler;
import io.troupe.tuner.space.SearchSpace;
import io.troupe.worker.train.SettingsException;
import io.troupe.worker.train.TrainSettings;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** A trial's schedule follows --steps as {@code troupe train --steps} does, unless the space sets it. */
class TrialSettingsTest {
    /** The shipped space (tests run in the module directory). */
    private static final SearchSpace SHIPPED = SearchSpace.load(Path.of("../examples/tune-shakespeare-small.conf"));

    @Test
    void everyTrialOfTheShippedSpaceHasAValidScheduleAtSixtySteps() {
        Sampler sampler = Sampler.create("random", SHIPPED, 0);
        for (int number = 0; number < 40; number++) {
            Map<String, Object> params = sampler.sample(number, List.of());
            TrainSettings s = TrialSettings.of(SHIPPED, params, 60);
            assertEquals(60, s.maxIters());
            assertEquals(60, s.lrDecayIters());
            assertEquals(3, s.warmupIters(), "the preset's 100 of 2000, scaled to 60 steps");
            s.schedule(); // throws if the warm-up were longer than the decay
        }
    }

    @Test
    void keysTheSpaceSetsAreKept() {
        SearchSpace warmup = SearchSpace.parse("""
                preset = shakespeare-char-small
                fixed { warmup_iters = 10 }
                params { learning_rate { type = log, min = 1e-4, max = 1e-3 } }
                """);
        TrainSettings s = TrialSettings.of(warmup, Map.of("learning_rate", 5e-4), 60);
        assertEquals(10, s.warmupIters());
        assertEquals(60, s.lrDecayIters());

        SearchSpace decay = SearchSpace.parse("""
                preset = shakespeare-char-small
                fixed { lr_decay_iters = 500 }
                params { learning_rate { type = log, min = 1e-4, max = 1e-3 } }
                """);
        TrainSettings d = TrialSettings.of(decay, Map.of("learning_rate", 5e-4), 60);
        assertEquals(500, d.lrDecayIters());
        assertEquals(100, d.warmupIters());

        SearchSpace sampledWarmup = SearchSpace.parse("""
                preset = shakespeare-char-small
                params { warmup_iters { type = int, min = 0, max = 100, step = 25 } }
                """);
        assertEquals(25, TrialSettings.of(sampledWarmup, Map.of("warmup_iters", 25), 60).warmupIters());
        SettingsException tooLong = assertThrows(SettingsException.class,
                () -> TrialSettings.of(sampledWarmup, Map.of("warmup_iters", 75), 60));
        assertTrue(tooLong.getMessage().startsWith("warmup_iters (75) must not exceed lr_decay_iters (60)"),
                tooLong.getMessage());
    }
}
