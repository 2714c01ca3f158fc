package io.troupe.worker.seq2seq;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.troupe.data.DataException;
import io.troupe.data.io.AtomicFiles;
import io.troupe.data.tokenize.Tokenizer;
import io.troupe.model.seq2seq.Seq2SeqConfig;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A trained encoder-decoder on disk: {@value #CONFIG} (the {@link Seq2SeqConfig}, the special
 * token ids and the data's attribution), {@value #PARAMS} (float32 little-endian, laid out as
 * {@link io.troupe.model.seq2seq.Seq2SeqLayout}) and the shared {@code tokenizer.json}. Every file
 * is written through a temp file and rename, the config last, so a half-written directory never
 * looks like a model.
 *
 * @param attribution credit owed for the training data (CC BY), shown wherever the model is described
 */
public record Seq2SeqModelDir(Seq2SeqConfig config, float[] params, Tokenizer tokenizer, int bosId, int eosId,
                              int padId, String attribution) {
    public static final String CONFIG = "seq2seq.json";
    public static final String PARAMS = "params.bin";
    private static final ObjectMapper JSON = new ObjectMapper();

    /** True when {@code dir} holds a seq2seq model (its config file). */
    public static boolean isSeq2Seq(Path dir) {
        return Files.isRegularFile(dir.resolve(CONFIG));
    }

    /** Writes the model into {@code dir} (created if needed). */
    public void save(Path dir) throws IOException, DataException {
        Files.createDirectories(dir);
        tokenizer.save(dir);
        ByteBuffer bytes = ByteBuffer.allocate(params.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        bytes.asFloatBuffer().put(params);
        AtomicFiles.write(dir.resolve(PARAMS), ch -> {
            ByteBuffer b = bytes.duplicate();
            while (b.hasRemaining()) {
                ch.write(b);
            }
        });
        ObjectNode root = JSON.createObjectNode();
        root.put("format", "troupe-seq2seq");
        root.put("version", 1);
        root.put("arch", "seq2seq");
        root.set("config", JSON.valueToTree(config));
        root.put("bos_id", bosId);
        root.put("eos_id", eosId);
        root.put("pad_id", padId);
        root.put("attribution", attribution);
        AtomicFiles.writeString(dir.resolve(CONFIG), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(root) + "\n");
    }

    /**
     * Reads a model written by {@link #save}.
     *
     * @throws DataException naming the file when it is missing, malformed or the wrong size
     */
    public static Seq2SeqModelDir load(Path dir) throws DataException {
        Path configFile = dir.resolve(CONFIG);
        if (!Files.isRegularFile(configFile)) {
            throw new DataException(dir + " is not a seq2seq model (no " + CONFIG + "); train one with"
                    + " `troupe train-seq2seq`, since GPT and encoder-only models cannot translate");
        }
        try {
            JsonNode root = JSON.readTree(configFile.toFile());
            if (!"troupe-seq2seq".equals(root.path("format").asText())) {
                throw new DataException(configFile + " is not a troupe-seq2seq config");
            }
            Seq2SeqConfig cfg = JSON.treeToValue(root.get("config"), Seq2SeqConfig.class);
            byte[] raw = Files.readAllBytes(dir.resolve(PARAMS));
            long want = cfg.layout().size() * Float.BYTES;
            if (raw.length != want) {
                throw new DataException(dir.resolve(PARAMS) + " has " + raw.length + " bytes but the config needs "
                        + want + "; the model directory is damaged");
            }
            float[] params = new float[raw.length / Float.BYTES];
            ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(params);
            return new Seq2SeqModelDir(cfg, params, Tokenizer.load(dir), root.path("bos_id").asInt(),
                    root.path("eos_id").asInt(), root.path("pad_id").asInt(), root.path("attribution").asText(""));
        } catch (IOException | IllegalArgumentException e) {
            throw new DataException("cannot read the seq2seq model in " + dir + ": " + e.getMessage(), e);
        }
    }
}
