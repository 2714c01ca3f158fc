package io.troupe.worker.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The DiLoCo settings: parsed, checked against the cadence, part of a DiLoCo run's identity only. */
class SyncSettingsTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    @Test
    void syncIsTheDefaultAndLeavesTheResumeIdentityAsItWas() {
        TrainSettings s = TrainSettings.load(null, Map.of());
        assertFalse(s.sync().diloco());
        assertTrue(s.sync().outerStepAt(7));
        assertFalse(s.resumeIdentity(MAPPER, 65).has("sync"), "checkpoints of sync runs keep their identity");
        assertNull(SyncSettings.problem(s));
    }

    @Test
    void dilocoSettingsRoundTripAndShapeTheIdentity() throws Exception {
        TrainSettings s = TrainSettings.load(null, Map.of("sync", "diloco", "inner_steps", "50", "outer_lr", "0.5",
                "outer_momentum", "0.8"), 500);
        assertEquals(new SyncSettings(SyncSettings.Mode.DILOCO, 50, 0.5, 0.8), s.sync());
        assertTrue(s.sync().outerStepAt(100));
        assertFalse(s.sync().outerStepAt(101));
        assertEquals(100, s.sync().lastOuterStep(149));
        assertEquals(50, s.resumeIdentity(MAPPER, 65).get("inner_steps").asInt());
        // The settings a worker receives (JoinJob's JSON) carry them.
        TrainSettings back = TrainSettings.from(com.typesafe.config.ConfigFactory.parseString(
                s.toJson(MAPPER).toString()));
        assertEquals(s.sync(), back.sync());
    }

    @Test
    void badValuesAreRefusedNamingTheKey() {
        var zero = assertThrows(SettingsException.class, () -> TrainSettings.load(null, Map.of("inner_steps", "0")));
        assertTrue(zero.getMessage().contains("inner_steps"), zero.getMessage());
        var mode = assertThrows(SettingsException.class, () -> TrainSettings.load(null, Map.of("sync", "async")));
        assertTrue(mode.getMessage().contains("sync or diloco"), mode.getMessage());
        assertThrows(SettingsException.class, () -> TrainSettings.load(null, Map.of("outer_momentum", "1")));
    }

    @Test
    void aDilocoRunMustEndEvaluateAndCheckpointOnOuterSteps() {
        Map<String, String> diloco = Map.of("sync", "diloco", "inner_steps", "50", "eval_interval", "100");
        assertNull(SyncSettings.problem(TrainSettings.load(null, diloco, 500)));
        String steps = SyncSettings.problem(TrainSettings.load(null, diloco, 520));
        assertTrue(steps.contains("--steps 550"), steps);
        Map<String, String> eval = new java.util.HashMap<>(diloco);
        eval.put("eval_interval", "75");
        String evalProblem = SyncSettings.problem(TrainSettings.load(null, eval, 500));
        assertTrue(evalProblem.contains("eval_interval=100"), evalProblem);
        Map<String, String> ckpt = new java.util.HashMap<>(diloco);
        ckpt.put("checkpoint_interval", "30");
        assertTrue(SyncSettings.problem(TrainSettings.load(null, ckpt, 500)).contains("checkpoint_interval=50"));
    }
}
