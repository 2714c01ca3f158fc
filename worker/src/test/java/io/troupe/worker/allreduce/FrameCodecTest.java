package io.troupe.worker.allreduce;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.SplittableRandom;
import org.apache.pekko.util.ByteString;
import org.junit.jupiter.api.Test;

/** Frames as bytes: header layout and checks, and the payload kernels of {@link ChunkCodec}. */
class FrameCodecTest {

    private final ChunkCodec codec = new ChunkCodec();

    @Test
    void fp32ChunkRoundTripsExactly() throws FrameException {
        FloatBuffer source = random(10_000, 1);
        FrameHeader header = data(WireFormat.FP32, 9_000);
        ByteBuffer frame = asBuffer(codec.data(header, source, 500));

        assertEquals(header, FrameHeader.read(frame, 1 << 20));
        FloatBuffer target = FloatBuffer.allocate(10_000);
        codec.copy(header, payload(frame), 0, 9_000, target, 1000);
        for (int i = 0; i < 9_000; i++) {
            assertEquals(source.get(500 + i), target.get(1000 + i));
        }
    }

    @Test
    void bf16RoundsEachValueOnceToNearestEven() {
        // Odd and even counts, more than one scratch block, and awkward bit patterns.
        for (int count : new int[] {1, 2, 3, 2047, 5_001}) {
            FloatBuffer source = random(count, count);
            source.put(0, Float.NaN);
            if (count > 4) {
                source.put(1, Float.intBitsToFloat(0x7f800001)); // a NaN that naive rounding makes infinite
                source.put(2, Float.MAX_VALUE);
                source.put(3, -Float.MIN_VALUE);
                source.put(4, 1f + 0x1p-8f); // a tie: rounds down to even
            }
            FrameHeader header = data(WireFormat.BF16, count);
            ByteString bytes = codec.data(header, source, 0);
            assertEquals(FrameHeader.OVERHEAD_BYTES + 4 * ((count + 1) / 2), bytes.length(), "two bytes per value, in 4-byte units");

            FloatBuffer target = FloatBuffer.allocate(count);
            codec.copy(header, payload(asBuffer(bytes)), 0, (count + 1) / 2, target, 0);
            for (int i = 0; i < count; i++) {
                float expected = Bf16.round(source.get(i));
                if (Float.isNaN(expected)) {
                    assertTrue(Float.isNaN(target.get(i)), "value " + i + " of " + count);
                } else {
                    assertEquals(expected, target.get(i), "value " + i + " of " + count);
                }
            }
        }
    }

    @Test
    void bf16PayloadCanBeReadInAnyRunsOfUnits() {
        int count = 3_001;
        FloatBuffer source = random(count, 11);
        FrameHeader header = data(WireFormat.BF16, count);
        ByteBuffer payload = payload(asBuffer(codec.data(header, source, 0)));
        FloatBuffer target = FloatBuffer.allocate(count);
        int units = (count + 1) / 2;
        for (int first = 0; first < units; ) {
            int n = Math.min(units - first, 1 + first % 700);
            codec.copy(header, payload.duplicate().position(4 * first).order(ByteOrder.LITTLE_ENDIAN), first, n, target, 0);
            first += n;
        }
        for (int i = 0; i < count; i++) {
            assertEquals(Bf16.round(source.get(i)), target.get(i), "value " + i);
        }
    }

    @Test
    void accumulateAddsScalesAndRounds() {
        for (WireFormat wire : WireFormat.values()) {
            FloatBuffer incoming = random(6_001, 3);
            FloatBuffer local = random(6_001, 4);
            FrameHeader header = data(wire, 6_001);
            ByteBuffer payload = payload(asBuffer(codec.data(header, incoming, 0)));
            int units = wire.units(6_001);

            FloatBuffer sum = copyOf(local);
            codec.accumulate(header, payload, 0, units, sum, 0, 1f, false);
            FloatBuffer mean = copyOf(local);
            codec.accumulate(header, payload, 0, units, mean, 0, 0.25f, false);
            FloatBuffer rounded = copyOf(local);
            codec.accumulate(header, payload, 0, units, rounded, 0, 0.25f, true);
            for (int i = 0; i < 6_001; i++) {
                float received = wire == WireFormat.FP32 ? incoming.get(i) : Bf16.round(incoming.get(i));
                float exact = local.get(i) + received;
                assertEquals(exact, sum.get(i), wire + " value " + i);
                assertEquals(exact * 0.25f, mean.get(i), wire + " value " + i);
                assertEquals(Bf16.round(exact * 0.25f), rounded.get(i), wire + " value " + i);
            }
        }
    }

    @Test
    void directBuffersWithAnOffsetWork() {
        FloatBuffer direct = ByteBuffer.allocateDirect(4 * 100).order(ByteOrder.nativeOrder()).asFloatBuffer();
        for (int i = 0; i < 100; i++) {
            direct.put(i, i);
        }
        FrameHeader header = data(WireFormat.FP32, 10);
        ByteBuffer payload = payload(asBuffer(codec.data(header, direct, 90)));
        codec.accumulate(header, payload, 0, 10, direct, 0, 1f, false);
        for (int i = 0; i < 10; i++) {
            assertEquals(i + 90 + i, direct.get(i));
        }
    }

    @Test
    void controlFramesCarryTheirFields() throws FrameException {
        ByteBuffer hello = asBuffer(codec.hello(WireFormat.BF16, 2, 5, 4096));
        FrameHeader header = FrameHeader.read(hello, 0);
        assertEquals(FrameHeader.HELLO, header.kind());
        assertEquals(WireFormat.BF16, header.wire());
        assertArrayEquals(new int[] {2, 5, 4096}, ChunkCodec.helloFields(payload(hello)));

        ByteBuffer abort = asBuffer(codec.abort("rank 3 gave up: ünïcode survives"));
        assertEquals(FrameHeader.ABORT, FrameHeader.read(abort, 0).kind());
        assertEquals("rank 3 gave up: ünïcode survives", ChunkCodec.abortReason(payload(abort)));
        assertEquals(FrameHeader.MAX_CONTROL_PAYLOAD_BYTES, codec.abort("x".repeat(10_000)).length() - FrameHeader.OVERHEAD_BYTES);
    }

    @Test
    void malformedHeadersAreRejected() {
        byte[] good = codec.data(data(WireFormat.FP32, 4), FloatBuffer.allocate(4), 0).toArray();

        byte[] badMagic = good.clone();
        badMagic[4] = 'X';
        assertMessage("magic", badMagic);
        byte[] badVersion = good.clone();
        badVersion[8] = 99;
        assertMessage("version 99", badVersion);
        byte[] badKind = good.clone();
        badKind[9] = 9;
        assertMessage("unknown frame kind 9", badKind);
        byte[] badWire = good.clone();
        badWire[10] = 7;
        assertMessage("wire format", badWire);
        byte[] badLength = good.clone();
        badLength[0]--;
        assertMessage("length prefix 55 does not match 4 elements", badLength);
        byte[] tooLong = good.clone();
        tooLong[40] = 100;
        assertMessage("announces 100 elements, at most 16", tooLong);
    }

    private static void assertMessage(String expected, byte[] frame) {
        FrameException e = assertThrows(FrameException.class,
                () -> FrameHeader.read(ByteBuffer.wrap(frame).order(ByteOrder.LITTLE_ENDIAN), 16));
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }

    private static FrameHeader data(WireFormat wire, int count) {
        return new FrameHeader(FrameHeader.DATA, wire, 42, 10_000, 3, 1, 2, count);
    }

    private static ByteBuffer payload(ByteBuffer frame) {
        return frame.duplicate().position(FrameHeader.OVERHEAD_BYTES).slice().order(ByteOrder.LITTLE_ENDIAN);
    }

    private static ByteBuffer asBuffer(ByteString bytes) {
        return bytes.asByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
    }

    private static FloatBuffer random(int length, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        FloatBuffer buffer = FloatBuffer.allocate(length);
        for (int i = 0; i < length; i++) {
            buffer.put(i, (float) (random.nextDouble() * 2 - 1));
        }
        return buffer;
    }

    private static FloatBuffer copyOf(FloatBuffer buffer) {
        FloatBuffer copy = FloatBuffer.allocate(buffer.capacity());
        copy.put(buffer.duplicate().clear());
        return copy.clear();
    }
}
