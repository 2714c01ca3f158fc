package io.troupe.worker.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.troupe.protocol.tensorboard.Event;
import io.troupe.protocol.tensorboard.Summary;
import io.troupe.worker.run.TrainListener;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TensorBoardEventsTest {

    private static final Clock CLOCK = Clock.fixed(Instant.parse("2026-12-06T20:00:00.250Z"), ZoneOffset.UTC);

    @TempDir
    Path run;

    @Test
    void crc32cIsCastagnoliAndTheMaskRotatesThenAdds() {
        CRC32C crc = new CRC32C();
        crc.update("123456789".getBytes(StandardCharsets.US_ASCII));
        assertEquals(0xE3069283L, crc.getValue(), "the CRC-32C check value");
        int c = 0xE3069283;
        int rotated = Integer.rotateRight(c, 15);
        assertEquals(rotated + 0xa282ead8, TensorBoardEvents.maskedCrc32c("123456789".getBytes(StandardCharsets.US_ASCII)));
    }

    @Test
    void theFileIsFramedRecordsOfVersionThenScalars() throws Exception {
        Path file;
        try (TensorBoardEvents events = TensorBoardEvents.create(run, CLOCK)) {
            file = events.file();
            Map<String, Double> values = new LinkedHashMap<>();
            values.put("loss/train", 2.5);
            values.put("lr", 1e-3);
            events.scalars(10, values);
        }
        assertEquals(run.resolve("tb"), file.getParent());
        assertTrue(file.getFileName().toString().startsWith("events.out.tfevents.1796587200."), file.toString());

        // Frame by frame, by hand: length, its masked CRC, data, its masked CRC.
        ByteBuffer bytes = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        long n = bytes.getLong(0);
        byte[] lengthBytes = new byte[8];
        bytes.get(lengthBytes);
        assertEquals(TensorBoardEvents.maskedCrc32c(lengthBytes), bytes.getInt());
        byte[] data = new byte[(int) n];
        bytes.get(data);
        assertEquals(TensorBoardEvents.maskedCrc32c(data), bytes.getInt());
        Event version = Event.parseFrom(data);
        assertEquals("brain.Event:2", version.getFileVersion());
        assertEquals(1796587200.25, version.getWallTime(), 0);

        List<Event> events = TensorBoardEvents.read(file);
        assertEquals(2, events.size());
        Event scalars = events.get(1);
        assertEquals(10, scalars.getStep());
        assertEquals(List.of("loss/train", "lr"), scalars.getSummary().getValueList().stream()
                .map(Summary.Value::getTag).toList());
        assertEquals(2.5f, scalars.getSummary().getValue(0).getSimpleValue(), 0);
        assertEquals(1e-3f, scalars.getSummary().getValue(1).getSimpleValue(), 0);
    }

    @Test
    void aFlippedByteOrATornTailIsCaught() throws Exception {
        Path file;
        try (TensorBoardEvents events = TensorBoardEvents.create(run, CLOCK)) {
            file = events.file();
            events.scalars(1, Map.of("loss/train", 3.0));
        }
        byte[] good = Files.readAllBytes(file);
        byte[] flipped = good.clone();
        flipped[flipped.length - 6] ^= 0x01; // inside the last record's data
        Files.write(file, flipped);
        IOException crc = assertThrows(IOException.class, () -> TensorBoardEvents.read(file));
        assertTrue(crc.getMessage().contains("data CRC"), crc.getMessage());

        Files.write(file, java.util.Arrays.copyOf(good, good.length - 3));
        assertThrows(IOException.class, () -> TensorBoardEvents.read(file));
        byte[] hugeLength = good.clone();
        ByteBuffer.wrap(hugeLength).order(ByteOrder.LITTLE_ENDIAN).putLong(0, Long.MAX_VALUE);
        Files.write(file, hugeLength);
        assertThrows(IOException.class, () -> TensorBoardEvents.read(file));
    }

    @Test
    void twoFilesInOneSecondGetTwoNames() throws Exception {
        try (TensorBoardEvents a = TensorBoardEvents.create(run, CLOCK);
             TensorBoardEvents b = TensorBoardEvents.create(run, CLOCK)) {
            assertNotEquals(a.file(), b.file());
        }
    }

    @Test
    void theListenerWritesEachLoggedStepAndEveryEvaluation() throws Exception {
        Path file;
        try (TensorBoardListener tb = new TensorBoardListener(run, 2, CLOCK)) {
            assertEquals(null, tb.file(), "no file before training starts");
            tb.onStart(0, 5, 1000);
            file = tb.file();
            tb.onEval(0, 3.4, 3.5);
            for (long step = 1; step <= 5; step++) {
                tb.onStep(new TrainListener.StepStats(step, 5, 3.0 - step * 0.1, 1e-3, 0.5, 1000, 10, 0.02, 1, 0, 0));
            }
        }
        List<Event> events = TensorBoardEvents.read(file);
        assertEquals(List.of(0L, 0L, 2L, 4L, 5L), events.stream().map(Event::getStep).toList(), "version, eval, 2, 4, last");
        Summary step4 = events.get(3).getSummary();
        assertEquals(List.of("loss/train", "lr", "grad_norm", "tokens_per_second", "mfu"),
                step4.getValueList().stream().map(Summary.Value::getTag).toList());
        assertEquals(2.6f, step4.getValue(0).getSimpleValue(), 1e-6);
        assertEquals(0.02f, step4.getValue(4).getSimpleValue(), 0);
        assertEquals(3.5f, events.get(1).getSummary().getValue(0).getSimpleValue(), 0);
        assertEquals("loss/val", events.get(1).getSummary().getValue(0).getTag());
    }
}
