package io.troupe.worker.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.typesafe.config.ConfigFactory;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import io.troupe.model.gpt.ActivationCheckpointing;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class TrainSettingsTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    private static TrainSettings load(String preset, String... pairs) {
        Map<String, String> overrides = new LinkedHashMap<>();
        for (String pair : pairs) {
            int eq = pair.indexOf('=');
            overrides.put(pair.substring(0, eq), pair.substring(eq + 1));
        }
        return TrainSettings.load(preset, overrides);
    }

    private static String error(String preset, String... pairs) {
        SettingsException e = assertThrows(SettingsException.class, () -> load(preset, pairs));
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
        return e.getMessage();
    }

    @Test
    void referenceDefaultsAreNanoGptsCpuShakespeareConfig() {
        TrainSettings s = load(null);
        assertEquals(4, s.nLayer());
        assertEquals(4, s.nHead());
        assertEquals(128, s.nEmbd());
        assertEquals(64, s.blockSize());
        assertEquals(12, s.batchSize());
        assertEquals(1, s.gradAccum());
        assertEquals(2000, s.maxIters());
        assertEquals(1e-3, s.learningRate());
        assertEquals(1e-4, s.minLr());
        assertEquals(0.99, s.beta2());
        assertEquals(1337, s.seed());
        assertEquals(s, load("shakespeare-char-small"), "the small preset restates the defaults");
    }

    @Test
    void theGpuPresetIsNanoGptsShakespeareCharConfig() {
        TrainSettings s = load("shakespeare-char");
        assertEquals(List.of(6, 6, 384, 256, 64), List.of(s.nLayer(), s.nHead(), s.nEmbd(), s.blockSize(), s.batchSize()));
        assertEquals(0.2, s.dropout());
        assertEquals(5000, s.maxIters());
        assertEquals(200, s.evalIters());
        // Troupe's memory settings on top (issue 18): no arena, 4 micro-batches of 16.
        assertFalse(s.ortArena());
        assertEquals(4, s.gradAccum());
    }

    @Test
    void everyPresetLoadsAndOverridesWinOverIt() {
        for (String preset : TrainSettings.PRESETS) {
            TrainSettings s = load(preset, "n_layer=2", "learning_rate=3e-4");
            assertEquals(2, s.nLayer(), preset);
            assertEquals(3e-4, s.learningRate(), preset);
        }
    }

    @Test
    void aSettingsObjectRoundTripsThroughItsJson() {
        TrainSettings s = load("shakespeare-char", "seed=-5", "grad_accum=4", "decay_lr=false");
        assertEquals(s, TrainSettings.from(ConfigFactory.parseString(s.toJson(JSON).toString())));
    }

    @Test
    void toJsonHasEveryKeyOfReferenceConf() {
        Set<String> reference = new TreeSet<>(ConfigFactory.defaultReference().getConfig("troupe.train").root().keySet());
        List<String> keys = new ArrayList<>();
        load(null).toJson(JSON).fieldNames().forEachRemaining(keys::add);
        assertEquals(reference, new TreeSet<>(keys));
    }

    @Test
    void resumeIdentityHoldsWhatShapesTheTrajectoryButNotTheRunLength() {
        ObjectNode identity = load(null).resumeIdentity(JSON, 65);
        for (String key : List.of("n_layer", "n_head", "n_embd", "block_size", "dropout", "batch_size", "grad_accum",
                "learning_rate", "min_lr", "warmup_iters", "lr_decay_iters", "weight_decay", "grad_clip", "seed")) {
            assertTrue(identity.has(key), key);
        }
        assertEquals(65, identity.get("vocab_size").asInt());
        for (String key : List.of("max_iters", "log_interval", "checkpoint_interval", "keep_checkpoints",
                "eval_interval", "eval_iters")) {
            assertFalse(identity.has(key), key);
        }
        assertEquals(load(null).resumeIdentity(JSON, 65),
                load(null, "max_iters=5", "eval_interval=1", "log_interval=1").resumeIdentity(JSON, 65));
    }

    @Test
    void activationCheckpointingIsASettingOutsideTheResumeIdentity() {
        assertEquals(ActivationCheckpointing.NONE, load(null).activationCheckpointing());
        TrainSettings on = load(null, "activation_checkpointing=attention");
        assertEquals(ActivationCheckpointing.ATTENTION, on.activationCheckpointing());
        assertEquals(ActivationCheckpointing.ATTENTION, on.withSeed(3).withMaxIters(9).activationCheckpointing());
        assertEquals("attention", on.toJson(JSON).get("activation_checkpointing").asText());
        // The gradients are the same with it on, so a checkpoint resumes under either value.
        assertEquals(load(null).resumeIdentity(JSON, 65), on.resumeIdentity(JSON, 65));
        // ORT's arena is on unless a preset or override turns it off (shakespeare-char does), and
        // is not part of the identity either.
        assertTrue(load(null).ortArena());
        assertFalse(load("shakespeare-char").ortArena());
        assertFalse(load(null, "ort_arena=false").ortArena());
        assertEquals(load(null).resumeIdentity(JSON, 65), load(null, "ort_arena=false").resumeIdentity(JSON, 65));
    }

    @Test
    void unknownPresetsAndKeysAreNamedWithTheChoices() {
        String preset = error("shakespeare-word");
        assertTrue(preset.contains("unknown preset 'shakespeare-word'"), preset);
        assertTrue(preset.contains("shakespeare-char-small"), preset);

        String key = error(null, "n_layers=2");
        assertTrue(key.contains("unknown setting 'n_layers'"), key);
        assertTrue(key.contains("n_layer"), key);
        assertTrue(error(null, "troupe.train.n_layer=2").contains("unknown setting"));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "n_layer=0        | setting n_layer = 0 is out of range; it must be in [1, 1024]",
        "n_head=-1        | setting n_head = -1 is out of range",
        "block_size=0     | setting block_size = 0 is out of range",
        "max_iters=0      | setting max_iters = 0 is out of range; it must be >= 1",
        "dropout=1        | setting dropout = 1.0 is out of range; it must be in [0.0, 0.999]",
        "learning_rate=-1 | setting learning_rate = -1.0 is out of range",
        "beta2=1          | setting beta2 = 1.0 is out of range",
        "grad_clip=-0.5   | setting grad_clip = -0.5 is out of range; it must be in [0.0, inf]",
        "eval_iters=0     | setting eval_iters = 0 is out of range",
        "keep_checkpoints=0 | setting keep_checkpoints = 0 is out of range",
        "n_layer=two      | setting n_layer must be an integer, got 'two'",
        "n_layer=2.5      | setting n_layer must be an integer, got '2.5'",
        "max_iters=1e3x   | setting max_iters must be an integer",
        "learning_rate=fast | setting learning_rate must be a number, got 'fast'",
        "learning_rate=NaN | setting learning_rate = NaN is out of range",
        "bias=maybe       | setting bias must be true or false, got 'maybe'",
        "activation_checkpointing=blocks | setting activation_checkpointing must be none or attention, got 'blocks'",
        "n_embd=30        | n_embd (30) must be divisible by n_head (4)",
        "grad_accum=5     | batch_size (12) must be divisible by grad_accum (5)",
        "min_lr=0.1       | min_lr (0.1) must not exceed learning_rate (0.001)",
        "n_layer={a=1}    | setting n_layer must be an integer",
        "n_layer=[1, 2    | setting n_layer=[1, 2 is not a valid value",
    })
    void badValuesAreRejectedWithTheKeyAndTheRule(String pair, String expected) {
        String message = error(null, pair);
        assertTrue(message.startsWith(expected), message);
    }

    @Test
    void integersWrittenAsWholeNumbersInOtherNotationsAreAccepted() {
        assertEquals(1000, load(null, "max_iters=1e3").maxIters());
        assertEquals(3, load(null, "n_layer=\"3\"").nLayer());
    }

    @Test
    void stepsAndSeedFlagsReplaceOnlyTheirSetting() {
        TrainSettings s = load(null);
        assertEquals(7, s.withMaxIters(7).maxIters());
        assertEquals(s.withMaxIters(7).withSeed(s.seed()), s.withMaxIters(7));
        assertEquals(s.resumeIdentity(JSON, 10), s.withMaxIters(7).resumeIdentity(JSON, 10));
        assertEquals(-3, s.withSeed(-3).seed());
        assertTrue(assertThrows(SettingsException.class, () -> s.withMaxIters(0)).getMessage().contains("--steps"));
    }

    @Test
    void stepsSetTheScheduleLengthAndScaleTheWarmupUnlessTheyAreSet() {
        // The small preset: warm-up 100 of a 2000-step decay (5 %).
        TrainSettings shortRun = TrainSettings.load("shakespeare-char-small", Map.of(), 60);
        assertEquals(60, shortRun.maxIters());
        assertEquals(60, shortRun.lrDecayIters());
        assertEquals(3, shortRun.warmupIters());
        shortRun.schedule(); // a valid schedule: warm-up inside the decay
        TrainSettings longRun = TrainSettings.load("shakespeare-char-small", Map.of(), 5000);
        assertEquals(5000, longRun.lrDecayIters());
        assertEquals(250, longRun.warmupIters());

        TrainSettings warmupSet = TrainSettings.load("shakespeare-char-small", Map.of("warmup_iters", "10"), 60);
        assertEquals(10, warmupSet.warmupIters());
        assertEquals(60, warmupSet.lrDecayIters());
        TrainSettings decaySet = TrainSettings.load("shakespeare-char-small", Map.of("lr_decay_iters", "500"), 60);
        assertEquals(500, decaySet.lrDecayIters());
        assertEquals(100, decaySet.warmupIters(), "an explicit schedule is the user's; nothing is scaled");
        assertEquals(60, decaySet.maxIters());

        SettingsException tooLong = assertThrows(SettingsException.class,
                () -> TrainSettings.load("shakespeare-char-small", Map.of("warmup_iters", "75"), 60));
        assertTrue(tooLong.getMessage().startsWith("warmup_iters (75) must not exceed lr_decay_iters (60)"),
                tooLong.getMessage());
        assertTrue(assertThrows(SettingsException.class, () -> TrainSettings.load(null, Map.of(), 0))
                .getMessage().contains("--steps"));
    }

    @Test
    void microBatchModelAndSchedule() {
        TrainSettings s = load(null, "batch_size=12", "grad_accum=3", "decay_lr=false");
        assertEquals(4, s.microBatch());
        assertEquals(65, s.model(65).vocabSize());
        assertEquals(s.learningRate(), s.schedule().at(0));
        assertEquals(s.learningRate(), s.schedule().at(100_000));
        TrainSettings decaying = load(null);
        assertTrue(decaying.schedule().at(0) < decaying.learningRate(), "warm-up starts low");
        assertEquals(decaying.minLr(), decaying.schedule().at(decaying.lrDecayIters() + 1), 1e-12);
    }
}
