package io.troupe.worker.allreduce;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class RingSettingsTest {

    @Test
    void readsHoconAndDefaultsWhatIsMissing() {
        RingSettings settings = RingSettings.fromConfig(ConfigFactory.parseString(
                "wire = bf16\nchunk-size = 256 KiB\nconnect-timeout = 3 s"));
        assertEquals(new RingSettings(WireFormat.BF16, 256 * 1024, Duration.ofSeconds(3), 0), settings);
        assertEquals(128 * 1024, settings.chunkElements(), "bf16 fits twice the values in a chunk");
        assertEquals(RingSettings.defaults(), RingSettings.fromConfig(ConfigFactory.empty()));
    }

    @Test
    void badValuesSayWhatIsAllowed() {
        IllegalArgumentException wire = assertThrows(IllegalArgumentException.class,
                () -> RingSettings.fromConfig(ConfigFactory.parseString("wire = fp8")));
        assertTrue(wire.getMessage().contains("expected fp32 or bf16"), wire.getMessage());
        IllegalArgumentException chunk = assertThrows(IllegalArgumentException.class,
                () -> RingSettings.defaults().withChunkBytes(10));
        assertTrue(chunk.getMessage().contains("between 1024 bytes and 64 MiB"), chunk.getMessage());
        IllegalArgumentException type = assertThrows(IllegalArgumentException.class,
                () -> RingSettings.fromConfig(ConfigFactory.parseString("connect-timeout = soon")));
        assertTrue(type.getMessage().contains("connect-timeout"), type.getMessage());
    }
}
