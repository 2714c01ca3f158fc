package io.troupe.worker.run;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.troupe.data.io.AtomicFiles;
import io.troupe.model.gpt.LoraConfig;
import io.troupe.model.gpt.ParameterLayout;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * Writes what a LoRA run trained (every A and B, and a classification head if there is one) as
 * its own small file, {@value #FILE_NAME}, in the safetensors format: an 8-byte little-endian
 * header length, a JSON header naming each tensor's dtype, shape and byte range, then the raw
 * little-endian float32 values. The header's {@code __metadata__} holds rank, alpha and targets.
 */
public final class AdapterFile {
    /** The adapter's file name in the run directory. */
    public static final String FILE_NAME = "adapter.safetensors";
    private static final ObjectMapper JSON = new ObjectMapper();

    private AdapterFile() {
    }

    /**
     * @param layout the trained parameters' layout (the engine's: A, B and head, densely packed)
     * @param values their values
     */
    public static Path write(Path dir, LoraConfig lora, ParameterLayout layout, float[] values) throws IOException {
        ObjectNode header = JSON.createObjectNode();
        ObjectNode meta = header.putObject("__metadata__");
        meta.put("format", "troupe-lora");
        meta.put("rank", Integer.toString(lora.rank()));
        meta.put("alpha", Double.toString(lora.alpha()));
        meta.put("targets", String.join(",", lora.targets().stream().sorted().map(t -> t.name().toLowerCase()).toList()));
        for (ParameterLayout.View v : layout.views()) {
            ObjectNode t = header.putObject(v.name());
            t.put("dtype", "F32");
            var shape = t.putArray("shape");
            for (long d : v.shape()) {
                shape.add(d);
            }
            t.putArray("data_offsets").add(v.offset() * Float.BYTES).add((v.offset() + v.length()) * Float.BYTES);
        }
        byte[] json = JSON.writeValueAsString(header).getBytes(StandardCharsets.UTF_8);
        int padded = (json.length + 7) / 8 * 8; // the data starts 8-byte aligned; the header is padded with spaces
        ByteBuffer out = ByteBuffer.allocate(8 + padded + Math.toIntExact(layout.size()) * Float.BYTES)
                .order(ByteOrder.LITTLE_ENDIAN);
        out.putLong(padded);
        out.put(json);
        for (int i = json.length; i < padded; i++) {
            out.put((byte) ' ');
        }
        for (int i = 0; i < layout.size(); i++) {
            out.putFloat(values[i]);
        }
        out.flip();
        Path target = dir.resolve(FILE_NAME);
        AtomicFiles.write(target, channel -> {
            while (out.hasRemaining()) {
                channel.write(out);
            }
        });
        return target;
    }
}
