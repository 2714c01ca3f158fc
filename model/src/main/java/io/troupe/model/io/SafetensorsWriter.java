package io.troupe.model.io;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Writes float32 tensors in the safetensors format {@link Safetensors} reads (a small adapter, a
 * test model). Tensors are written in the order added, densely; the header is padded with spaces
 * to a multiple of 8 bytes so the data section is aligned, as the reference implementation does.
 *
 * <p>It writes to a channel; to replace a file atomically, pass it to
 * {@code io.troupe.data.io.AtomicFiles.write(path, writer::writeTo)} from a module that has it.
 */
public final class SafetensorsWriter {

    private static final ObjectMapper MAPPER = new ObjectMapper();

    private record Tensor(long[] shape, float[] values) {
    }

    private final Map<String, Tensor> tensors = new LinkedHashMap<>();
    private final Map<String, String> metadata = new LinkedHashMap<>();

    /**
     * Adds a float32 tensor.
     *
     * @throws IllegalArgumentException if the name is taken or reserved, or the shape does not
     *     hold exactly {@code values.length} elements
     */
    public SafetensorsWriter add(String name, float[] values, long... shape) {
        long elements = Arrays.stream(shape).reduce(1, Math::multiplyExact);
        if (elements != values.length) {
            throw new IllegalArgumentException(name + ": shape " + Arrays.toString(shape) + " holds " + elements
                    + " elements, got " + values.length);
        }
        if (name.equals(Safetensors.METADATA_KEY) || tensors.containsKey(name)) {
            throw new IllegalArgumentException("tensor name '" + name + "' is reserved or already added");
        }
        tensors.put(name, new Tensor(shape.clone(), values));
        return this;
    }

    /** Adds a {@value Safetensors#METADATA_KEY} entry. */
    public SafetensorsWriter metadata(String key, String value) {
        metadata.put(key, value);
        return this;
    }

    /** The header JSON (unpadded) this writer would write. */
    public String headerJson() {
        ObjectNode header = MAPPER.createObjectNode();
        if (!metadata.isEmpty()) {
            ObjectNode m = header.putObject(Safetensors.METADATA_KEY);
            metadata.forEach(m::put);
        }
        long offset = 0;
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            ObjectNode t = header.putObject(e.getKey());
            t.put("dtype", SafetensorsDtype.F32.name());
            ArrayNode shape = t.putArray("shape");
            Arrays.stream(e.getValue().shape()).forEach(shape::add);
            long end = offset + 4L * e.getValue().values().length;
            t.putArray("data_offsets").add(offset).add(end);
            offset = end;
        }
        return header.toString();
    }

    /** Writes the whole file to {@code out}. */
    public void writeTo(WritableByteChannel out) throws IOException {
        byte[] json = headerJson().getBytes(StandardCharsets.UTF_8);
        int padded = (json.length + 7) / 8 * 8;
        ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
        head.putLong(padded).put(json);
        while (head.hasRemaining()) {
            head.put((byte) ' ');
        }
        writeFully(out, head.flip());
        for (Tensor t : tensors.values()) {
            float[] values = t.values();
            for (int from = 0; from < values.length; from += 1 << 18) {
                int n = Math.min(1 << 18, values.length - from);
                ByteBuffer chunk = ByteBuffer.allocate(4 * n).order(ByteOrder.LITTLE_ENDIAN);
                chunk.asFloatBuffer().put(values, from, n);
                writeFully(out, chunk);
            }
        }
    }

    private static void writeFully(WritableByteChannel out, ByteBuffer buffer) throws IOException {
        while (buffer.hasRemaining()) {
            out.write(buffer);
        }
    }
}
