package io.troupe.worker.run;

import io.troupe.data.io.AtomicFiles;
import io.troupe.model.gpt.LoraConfig;
import io.troupe.model.gpt.ParameterLayout;
import io.troupe.model.io.SafetensorsWriter;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;

/**
 * Writes what a LoRA run trained (every A and B, and a classification head if there is one) as
 * its own small safetensors file, {@value #FILE_NAME}, with rank, alpha and targets in its
 * {@code __metadata__}.
 */
public final class AdapterFile {
    /** The adapter's file name in the run directory. */
    public static final String FILE_NAME = "adapter.safetensors";

    private AdapterFile() {
    }

    /**
     * @param layout the trained parameters' layout (the engine's: A, B and head, densely packed)
     * @param values their values
     */
    public static Path write(Path dir, LoraConfig lora, ParameterLayout layout, float[] values) throws IOException {
        SafetensorsWriter writer = new SafetensorsWriter()
                .metadata("format", "troupe-lora")
                .metadata("rank", Integer.toString(lora.rank()))
                .metadata("alpha", Double.toString(lora.alpha()))
                .metadata("targets", String.join(",", lora.targets().stream().sorted()
                        .map(t -> t.name().toLowerCase(Locale.ROOT)).toList()));
        for (ParameterLayout.View v : layout.views()) {
            int from = Math.toIntExact(v.offset());
            writer.add(v.name(), Arrays.copyOfRange(values, from, from + Math.toIntExact(v.length())), v.shape());
        }
        Path target = dir.resolve(FILE_NAME);
        AtomicFiles.write(target, writer::writeTo);
        return target;
    }
}
