package io.troupe.ops.inference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class TokenSamplerTest {
    private static final float[] LOGITS = {1.0f, 3.0f, 2.9f, 0.5f};

    @Test
    void temperatureZeroIsGreedy() {
        TokenSampler sampler = new TokenSampler(0, 0, 1.0, 1);
        for (int i = 0; i < 50; i++) {
            assertEquals(1, sampler.sample(LOGITS, 0, 4));
        }
    }

    @Test
    void topPKeepsOnlyTheNucleus() {
        // softmax(LOGITS) = [0.064, 0.471, 0.426, 0.039]; top_p = 0.85 keeps tokens 1 and 2 only.
        TokenSampler nucleus = new TokenSampler(1.0, 0, 0.85, 3);
        Set<Integer> seen = new HashSet<>();
        for (int i = 0; i < 2000; i++) {
            seen.add(nucleus.sample(LOGITS, 0, 4));
        }
        assertEquals(Set.of(1, 2), seen);
        TokenSampler all = new TokenSampler(1.0, 0, 1.0, 3);
        Set<Integer> everything = new HashSet<>();
        for (int i = 0; i < 2000; i++) {
            everything.add(all.sample(LOGITS, 0, 4));
        }
        assertEquals(Set.of(0, 1, 2, 3), everything);
    }

    @Test
    void negativeTemperatureAndAnEmptyNucleusAreRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new TokenSampler(-1, 0, 1));
        assertTrue(e.getMessage().contains("--temperature must be >= 0"));
        assertThrows(IllegalArgumentException.class, () -> new TokenSampler(1, 0, 0.0, 1));
    }
}
