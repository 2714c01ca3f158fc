package io.troupe.model.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.troupe.errors.TroupeException;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.Channels;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsTest {
    @TempDir
    Path tmp;

    /** A file written byte by byte: the 8-byte length, the header as given, then {@code data}. */
    private Path handWritten(String name, String header, byte[] data) throws Exception {
        byte[] json = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer file = ByteBuffer.allocate(8 + json.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        file.putLong(json.length).put(json).put(data);
        return Files.write(tmp.resolve(name), file.array());
    }

    private static byte[] littleEndianFloats(float... values) {
        ByteBuffer b = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            b.putFloat(v);
        }
        return b.array();
    }

    private static byte[] littleEndianShorts(int... values) {
        ByteBuffer b = ByteBuffer.allocate(2 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (int v : values) {
            b.putShort((short) v);
        }
        return b.array();
    }

    private static String problem(Path file) {
        ModelFileException e = assertThrows(ModelFileException.class, () -> Safetensors.open(file).close());
        assertEquals(TroupeException.Kind.INPUT_DATA, e.kind());
        assertTrue(e.getMessage().startsWith(file.toString() + " "), e.getMessage());
        assertEquals(1, e.getMessage().lines().count(), "one line");
        return e.getMessage().substring(file.toString().length() + 1);
    }

    @Test
    void readsAHandWrittenFileWithF32F16AndBf16() throws Exception {
        byte[] f32 = littleEndianFloats(1.5f, -2f, 0.25f, 3e-3f, 7f, -0f);
        byte[] f16 = littleEndianShorts(0x3C00, 0xC000, 0x3800, 0x0001, 0x7C00);  // 1, -2, 0.5, 2^-24, +inf
        byte[] bf16 = littleEndianShorts(0x3F80, 0xC040);                        // 1, -3
        byte[] data = new byte[f32.length + f16.length + bf16.length];
        System.arraycopy(f32, 0, data, 0, f32.length);
        System.arraycopy(f16, 0, data, f32.length, f16.length);
        System.arraycopy(bf16, 0, data, f32.length + f16.length, bf16.length);
        String header = "{\"__metadata__\":{\"format\":\"pt\"},"
                + "\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
                + "\"h\":{\"dtype\":\"F16\",\"shape\":[5],\"data_offsets\":[24,34]},"
                + "\"b\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[34,38]}}   ";
        try (Safetensors st = Safetensors.open(handWritten("ok.safetensors", header, data))) {
            assertEquals(List.of("w", "h", "b"), List.copyOf(st.names()));
            assertEquals(Map.of("format", "pt"), st.metadata());
            assertArrayEquals(new long[] {2, 3}, st.entry("w").orElseThrow().shape());
            assertArrayEquals(new float[] {1.5f, -2f, 0.25f, 3e-3f, 7f, -0f}, st.floats("w"));
            assertArrayEquals(new float[] {1f, -2f, 0.5f, 0x1p-24f, Float.POSITIVE_INFINITY}, st.floats("h"));
            assertArrayEquals(new float[] {1f, -3f}, st.floats("b"));
            float[] flat = new float[10];
            st.floats("b", flat, 7);
            assertArrayEquals(new float[] {0, 0, 0, 0, 0, 0, 0, 1f, -3f, 0}, flat);
            assertTrue(assertThrows(ModelFileException.class, () -> st.floats("nope")).getMessage()
                    .endsWith(" has no tensor 'nope'"));
        }
    }

    @Test
    void theWriterRoundTripsThroughTheReaderWithAnAlignedHeader() throws Exception {
        float[] big = new float[300_000]; // more than one read chunk
        for (int i = 0; i < big.length; i++) {
            big[i] = i * 0.5f - 7;
        }
        SafetensorsWriter writer = new SafetensorsWriter().metadata("source", "test")
                .add("a", new float[] {1, 2, 3, 4, 5, 6}, 3, 2).add("big", big, 300, 1000).add("s", new float[] {9}); // scalar
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        writer.writeTo(Channels.newChannel(bytes));
        Path file = Files.write(tmp.resolve("w.safetensors"), bytes.toByteArray());
        long headerLength = ByteBuffer.wrap(bytes.toByteArray(), 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertEquals(0, headerLength % 8, "the data section starts 8-byte aligned");
        try (Safetensors st = Safetensors.open(file)) {
            assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6}, st.floats("a"));
            assertArrayEquals(big, st.floats("big"));
            assertArrayEquals(new float[] {9}, st.floats("s"));
            assertEquals(0, st.entry("s").orElseThrow().shape().length);
            assertEquals(Map.of("source", "test"), st.metadata());
        }
    }

    @Test
    void aTruncatedFileIsRefusedNamingTheTensorThatRunsPastTheEnd() throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        new SafetensorsWriter().add("a", new float[] {1, 2}, 2).add("b", new float[] {3, 4, 5}, 3)
                .writeTo(Channels.newChannel(bytes));
        byte[] whole = bytes.toByteArray();
        Path cut = Files.write(tmp.resolve("cut.safetensors"), Arrays.copyOf(whole, whole.length - 3));
        assertEquals("is truncated: tensor 'b' ends at data byte 20 but the file holds 17 data bytes", problem(cut));
        Path tiny = Files.write(tmp.resolve("tiny.safetensors"), new byte[] {1, 2, 3});
        assertEquals("is 3 bytes, shorter than the 8-byte header length; the file is truncated or not safetensors",
                problem(tiny));
    }

    @Test
    void aHeaderLengthOverTheFileSizeIsRefusedBeforeAnythingIsAllocated() throws Exception {
        ByteBuffer lying = ByteBuffer.allocate(40).order(ByteOrder.LITTLE_ENDIAN).putLong(1L << 40);
        Path file = Files.write(tmp.resolve("lying.safetensors"), lying.array());
        assertEquals("declares a header of 1099511627776 bytes, over the file size (40 bytes); the file is truncated or"
                + " not safetensors", problem(file));
        ByteBuffer negative = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(-1L);
        Path huge = Files.write(tmp.resolve("negative.safetensors"), negative.array());
        assertTrue(problem(huge).startsWith("declares a header of 18446744073709551615 bytes, over the file size"));
    }

    @Test
    void headersThatLieAboutOffsetsOrDtypeAreRefused() throws Exception {
        byte[] data = littleEndianFloats(1, 2, 3, 4);
        assertEquals("is truncated: tensor 'a' ends at data byte 32 but the file holds 16 data bytes", problem(handWritten(
                "range.st", "{\"a\":{\"dtype\":\"F32\",\"shape\":[8],\"data_offsets\":[0,32]}}", data)));
        assertEquals("tensors 'a' [0, 12) and 'b' [8, 16) overlap", problem(handWritten("overlap.st",
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]},"
                        + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}", data)));
        assertEquals("tensor 'a' (F32 [3]) needs 12 bytes but its data_offsets [0, 16] span 16", problem(handWritten(
                "size.st", "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,16]}}", data)));
        assertEquals("tensor 'a' has unknown dtype 'F33'", problem(handWritten(
                "dtype.st", "{\"a\":{\"dtype\":\"F33\",\"shape\":[4],\"data_offsets\":[0,16]}}", data)));
        assertEquals("tensor 'a' has data_offsets [16, 0] that end before they begin", problem(handWritten(
                "backwards.st", "{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[16,0]}}", data)));
        assertEquals("tensor 'a' has shape [-4] that are not non-negative integers", problem(handWritten(
                "negshape.st", "{\"a\":{\"dtype\":\"F32\",\"shape\":[-4],\"data_offsets\":[0,16]}}", data)));
        assertEquals("tensor 'a' has no data_offsets of 2 integers", problem(handWritten(
                "nooffsets.st", "{\"a\":{\"dtype\":\"F32\",\"shape\":[4]}}", data)));
        assertTrue(problem(handWritten("json.st", "{\"a\":{\"dtype\":", data)).startsWith("has a header that is not valid JSON"));
        assertTrue(problem(handWritten("dup.st", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                + "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", data))
                .startsWith("has a header that is not valid JSON (Duplicate field 'a')"));
        assertEquals("has a header that is not a JSON object", problem(handWritten("array.st", "[1, 2]", data)));
        assertEquals("tensor 'a' has a shape too large to exist: F32 [4611686018427387904, 4]", problem(handWritten(
                "overflow.st", "{\"a\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],\"data_offsets\":[0,16]}}", data)));
    }

    @Test
    void anIntegerTensorIsListedButNotReadAsFloats() throws Exception {
        Path file = handWritten("int.st", "{\"mask\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]}}",
                new byte[] {1, 0, 1, 1});
        try (Safetensors st = Safetensors.open(file)) {
            assertEquals(SafetensorsDtype.U8, st.entry("mask").orElseThrow().dtype());
            assertEquals(file + " tensor 'mask' is U8, not a floating-point type Troupe reads",
                    assertThrows(ModelFileException.class, () -> st.floats("mask")).getMessage());
        }
        assertTrue(assertThrows(ModelFileException.class, () -> Safetensors.open(tmp.resolve("missing.safetensors")))
                .getMessage().endsWith("missing.safetensors does not exist; give a .safetensors file"));
    }
}
