package io.troupe.worker.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.ConfigFactory;
import io.troupe.model.gpt.Precision;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The precision settings: default, travel through JSON, refusals, and the resume identity. */
class PrecisionSettingsTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void fp32IsTheDefaultAndFp16TravelsThroughTheJobsJson() {
        TrainSettings defaults = TrainSettings.load(null, Map.of());
        assertEquals(Precision.FP32, defaults.precision());
        assertEquals(2000, defaults.lossScaleWindow());
        TrainSettings fp16 = TrainSettings.load(null, Map.of("precision", "fp16", "loss_scale_window", "50"));
        TrainSettings travelled = TrainSettings.from(ConfigFactory.parseString(fp16.toJson(JSON).toString()));
        assertEquals(fp16, travelled);
        String identity = defaults.resumeIdentity(JSON, 65).toString();
        assertEquals(identity, fp16.resumeIdentity(JSON, 65).toString(),
                "precision is not in the resume identity: the master weights are float32 either way");
        assertFalse(identity.contains("precision"));
    }

    @Test
    void settingsWrittenBeforeTheKeyExistedReadAsFp32() {
        com.fasterxml.jackson.databind.node.ObjectNode old = TrainSettings.load(null, Map.of()).toJson(JSON);
        old.remove(java.util.List.of("precision", "loss_scale_window"));
        assertEquals(Precision.FP32, TrainSettings.from(ConfigFactory.parseString(old.toString())).precision());
    }

    @Test
    void fp16IsRefusedWhereItIsNotBuilt() {
        assertTrue(assertThrows(SettingsException.class, () -> TrainSettings.load(null,
                Map.of("precision", "fp16", "arch", "bert"))).getMessage().contains("precision fp16 is built for"));
        assertTrue(assertThrows(SettingsException.class, () -> TrainSettings.load(null,
                Map.of("precision", "fp16", "overlap_allreduce", "true"))).getMessage().contains("overlap_allreduce"));
        assertTrue(assertThrows(SettingsException.class, () -> TrainSettings.load(null,
                Map.of("loss_scale_window", "0"))).getMessage().contains("loss_scale_window"));
    }

    @Test
    void bf16StorageParsesTravelsAndIsRefusedWhereItIsNotBuilt() {
        TrainSettings bf16 = TrainSettings.load(null, Map.of("precision", "bf16-storage"));
        assertEquals(Precision.BF16_STORAGE, bf16.precision());
        assertEquals(bf16, TrainSettings.from(ConfigFactory.parseString(bf16.toJson(JSON).toString())));
        assertEquals(TrainSettings.load(null, Map.of()).resumeIdentity(JSON, 65).toString(),
                bf16.resumeIdentity(JSON, 65).toString(), "a float32 checkpoint can continue in bf16-storage");
        for (Map<String, String> unsupported : java.util.List.of(Map.of("arch", "bert"),
                Map.of("overlap_allreduce", "true"), Map.of("sync", "diloco"))) {
            Map<String, String> settings = new java.util.HashMap<>(unsupported);
            settings.put("precision", "bf16-storage");
            String message = assertThrows(SettingsException.class, () -> TrainSettings.load(null, settings)).getMessage();
            assertTrue(message.contains("precision bf16-storage is built for the GPT one-graph synchronous step")
                    && message.contains("set precision=fp32"), unsupported + ": " + message);
        }
    }
}
