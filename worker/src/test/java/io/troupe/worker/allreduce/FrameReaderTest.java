package io.troupe.worker.allreduce;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The streaming frame reader, fed the same byte stream cut into pieces of every kind of size. */
class FrameReaderTest {

    private final ChunkCodec codec = new ChunkCodec();

    @Test
    void findsEveryFrameAndValueWhereverTheStreamIsCut() throws FrameException {
        FloatBuffer values = FloatBuffer.allocate(1000);
        for (int i = 0; i < 1000; i++) {
            values.put(i, i + 0.5f);
        }
        ByteArrayOutputStream stream = new ByteArrayOutputStream();
        stream.writeBytes(codec.hello(WireFormat.FP32, 3, 4, 100).toArray());
        List<FrameHeader> sent = List.of(
                new FrameHeader(FrameHeader.DATA, WireFormat.FP32, 9, 1000, 0, 1, 0, 100),
                new FrameHeader(FrameHeader.DATA, WireFormat.BF16, 9, 1000, 1, 2, 0, 37),
                new FrameHeader(FrameHeader.DATA, WireFormat.FP32, 9, 1000, 1, 2, 1, 1),
                new FrameHeader(FrameHeader.DATA, WireFormat.FP32, 10, 1000, 0, 1, 0, 99));
        int[] offsets = {0, 200, 500, 900};
        for (int f = 0; f < sent.size(); f++) {
            stream.writeBytes(codec.data(sent.get(f), values, offsets[f]).toArray());
        }
        byte[] bytes = stream.toByteArray();

        SplittableRandom random = new SplittableRandom(5);
        for (int trial = 0; trial < 200; trial++) {
            int maxPiece = trial < 10 ? trial + 1 : 1 + random.nextInt(600);
            Recorder recorder = new Recorder(offsets);
            FrameReader reader = new FrameReader(4096);
            for (int at = 0; at < bytes.length; ) {
                int n = Math.min(bytes.length - at, 1 + random.nextInt(maxPiece));
                reader.read(ByteBuffer.wrap(bytes, at, n).slice(), recorder);
                at += n;
            }
            assertTrue(reader.atFrameBoundary());
            assertEquals(sent, recorder.headers, "pieces of up to " + maxPiece + " bytes");
            assertEquals(List.of(3, 4, 100), recorder.hello);
            for (int f = 0; f < sent.size(); f++) {
                for (int i = 0; i < sent.get(f).count(); i++) {
                    float expected = values.get(offsets[f] + i);
                    if (sent.get(f).wire() == WireFormat.BF16) {
                        expected = Bf16.round(expected);
                    }
                    assertEquals(expected, recorder.received[f].get(i), "frame " + f + " value " + i);
                }
            }
        }
    }

    @Test
    void stopsAtAFrameBoundaryWhenTheListenerSaysSoAndResumesLater() throws FrameException {
        FloatBuffer values = FloatBuffer.allocate(10);
        FrameHeader first = new FrameHeader(FrameHeader.DATA, WireFormat.FP32, 1, 10, 0, 0, 0, 5);
        FrameHeader second = new FrameHeader(FrameHeader.DATA, WireFormat.FP32, 2, 10, 0, 0, 0, 5);
        ByteArrayOutputStream stream = new ByteArrayOutputStream();
        stream.writeBytes(codec.data(first, values, 0).toArray());
        stream.writeBytes(codec.data(second, values, 5).toArray());
        ByteBuffer input = ByteBuffer.wrap(stream.toByteArray());

        Recorder recorder = new Recorder(new int[] {0, 0});
        recorder.stopAfterEachFrame = true;
        FrameReader reader = new FrameReader(4096);
        reader.read(input, recorder);
        assertEquals(List.of(first), recorder.headers);
        assertEquals(FrameHeader.OVERHEAD_BYTES + 20, input.remaining(), "the second frame is left unread");
        reader.read(input, recorder);
        assertEquals(List.of(first, second), recorder.headers);
        assertFalse(input.hasRemaining());
    }

    @Test
    void rejectsAFrameLargerThanAllowed() {
        FrameHeader big = new FrameHeader(FrameHeader.DATA, WireFormat.FP32, 1, 100, 0, 0, 0, 100);
        ByteBuffer input = ByteBuffer.wrap(codec.data(big, FloatBuffer.allocate(100), 0).toArray());
        FrameException e = assertThrows(FrameException.class, () -> new FrameReader(256).read(input, new Recorder(new int[1])));
        assertTrue(e.getMessage().contains("at most 256 payload bytes"), e.getMessage());
    }

    /** Collects what the reader reports: headers, the hello, and each data frame's values. */
    private static final class Recorder implements FrameReader.Listener {
        final List<FrameHeader> headers = new ArrayList<>();
        final List<Integer> hello = new ArrayList<>();
        final FloatBuffer[] received;
        boolean stopAfterEachFrame;
        private int frame = -1;

        Recorder(int[] offsets) {
            received = new FloatBuffer[offsets.length];
        }

        @Override
        public void control(FrameHeader header, ByteBuffer payload) {
            for (int field : ChunkCodec.helloFields(payload)) {
                hello.add(field);
            }
        }

        @Override
        public void dataHeader(FrameHeader header) {
            headers.add(header);
            frame++;
            received[frame] = FloatBuffer.allocate(header.count());
        }

        @Override
        public void values(FrameHeader header, ByteBuffer data, int first, int count) {
            new ChunkCodec().copy(header, data, first, count, received[frame], 0);
        }

        @Override
        public boolean frameEnd(FrameHeader header) {
            return !stopAfterEachFrame;
        }
    }
}
