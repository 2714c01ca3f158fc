package io.troupe.worker.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;

class LearningRateScalesTest {

    @Test
    void theHeadKeepsTheRateAndTheBodyIsScaledWithLayerDecayFromTheTop() {
        LearningRateScales s = new LearningRateScales(0.5, 0.8, 3);
        assertEquals(1.0, s.scale("cls.weight"));
        assertEquals(1.0, s.scale("ln_f.weight"));
        assertEquals(1.0, s.scale("lm_head.weight"));
        assertEquals(0.5, s.scale("h.2.attn.c_attn.weight"), 1e-12); // the top block: the body's rate
        assertEquals(0.5 * 0.8, s.scale("h.1.mlp.c_fc.weight"), 1e-12);
        assertEquals(0.5 * 0.64, s.scale("h.0.ln_1.weight"), 1e-12);
        assertEquals(0.5 * 0.64, s.scale("h.0.attn.c_attn.lora_A"), 1e-12); // an adapter learns as its block
        assertEquals(0.5 * 0.512, s.scale("wte"), 1e-12);
        assertEquals(0.5 * 0.512, s.scale("wpe"), 1e-12);
    }

    @Test
    void theSettingsKeysReachTheScalesAndDefaultToOneRate() {
        TrainSettings plain = TrainSettings.load(null, Map.of());
        assertTrue(LearningRateScales.of(plain).uniform());
        assertEquals(1.0, LearningRateScales.of(plain).scale("wte"));
        TrainSettings set = TrainSettings.load(null, Map.of("lr_body_scale", "0.1", "lr_layer_decay", "0.5",
                "n_layer", "2"));
        assertEquals(0.1 * 0.25, LearningRateScales.of(set).scale("wte"), 1e-12);
        assertEquals(0.1 * 0.5, LearningRateScales.of(set).scale("h.0.attn.c_proj.weight"), 1e-12);
        // Only a run that sets them has them in its resume identity, so older checkpoints still resume.
        var mapper = new com.fasterxml.jackson.databind.ObjectMapper();
        assertTrue(!plain.resumeIdentity(mapper, 65).has("lr_body_scale"));
        assertTrue(set.resumeIdentity(mapper, 65).has("lr_layer_decay"));
        assertEquals(0.1, set.toJson(new com.fasterxml.jackson.databind.ObjectMapper()).get("lr_body_scale")
                .asDouble());
    }

    @Test
    void outOfRangeValuesAreRefusedNamingTheKey() {
        var e = assertThrows(RuntimeException.class, () -> TrainSettings.load(null, Map.of("lr_layer_decay", "1.5")));
        assertTrue(e.getMessage().contains("lr_layer_decay"), e.getMessage());
        var f = assertThrows(RuntimeException.class, () -> TrainSettings.load(null, Map.of("lr_body_scale", "-1")));
        assertTrue(f.getMessage().contains("lr_body_scale"), f.getMessage());
    }
}
