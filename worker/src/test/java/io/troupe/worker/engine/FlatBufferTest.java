package io.troupe.worker.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;

class FlatBufferTest {

    @Test
    void anArrayRoundTripsThroughDirectNativeOrderMemory() {
        float[] values = {1.5f, -0f, Float.MIN_VALUE, Float.NaN, 3e38f};
        FlatBuffer flat = FlatBuffer.allocate(values.length).copyFrom(values);
        FloatBuffer view = flat.floats();
        assertTrue(view.isDirect(), "ORT wraps it without copying only if it is direct");
        assertEquals(ByteOrder.nativeOrder(), view.order(), "ORT reads native byte order");
        assertEquals(0, view.position());
        assertEquals(values.length, view.limit());
        float[] back = new float[values.length];
        flat.copyTo(back);
        for (int i = 0; i < values.length; i++) {
            assertEquals(Float.floatToRawIntBits(values[i]), Float.floatToRawIntBits(back[i]), "element " + i);
        }
    }

    @Test
    void writesThroughAViewChangeTheBufferAndViewsDoNotShareAPosition() {
        FlatBuffer flat = FlatBuffer.allocate(3);
        FloatBuffer first = flat.floats();
        first.put(7f); // moves only this view's position
        flat.floats().put(2, 9f);
        float[] out = new float[3];
        flat.copyTo(out);
        assertArrayEquals(new float[] {7f, 0f, 9f}, out);
        assertEquals(0, flat.floats().position());
    }

    @Test
    void addToAccumulatesAWeightedCopy() {
        FlatBuffer flat = FlatBuffer.allocate(3).copyFrom(new float[] {1f, 2f, 4f});
        float[] into = {10f, 10f, 10f};
        flat.addTo(into, 0.5f);
        assertArrayEquals(new float[] {10.5f, 11f, 12f}, into);
    }

    @Test
    void everyCopyRefusesAnotherLength() {
        FlatBuffer flat = FlatBuffer.allocate(4);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> flat.copyFrom(new float[3]));
        assertTrue(e.getMessage().contains("3 floats") && e.getMessage().contains("holds 4"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> flat.copyTo(new float[5]));
        assertThrows(IllegalArgumentException.class, () -> flat.addTo(new float[5], 1f));
        assertThrows(IllegalArgumentException.class, () -> FlatBuffer.copy(new float[2], new float[3]));
        float[] into = new float[2];
        FlatBuffer.copy(new float[] {1f, 2f}, into);
        assertArrayEquals(new float[] {1f, 2f}, into);
    }

    @Test
    void theChecksumIsCrc32cOfLittleEndianFloatsAndSeesOneBit() {
        float[] values = {1f, -2f, 0.25f};
        CRC32C crc = new CRC32C();
        for (float v : values) {
            int bits = Float.floatToRawIntBits(v);
            crc.update(new byte[] {(byte) bits, (byte) (bits >>> 8), (byte) (bits >>> 16), (byte) (bits >>> 24)});
        }
        assertEquals(crc.getValue(), FlatBuffer.checksum(values));
        float[] flipped = values.clone();
        flipped[2] = Float.intBitsToFloat(Float.floatToRawIntBits(flipped[2]) ^ 1);
        assertNotEquals(FlatBuffer.checksum(values), FlatBuffer.checksum(flipped));
    }
}
