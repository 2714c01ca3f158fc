package io.troupe.ops.explain;

import io.troupe.data.DataException;
import io.troupe.model.gpt.GptConfig;
import io.troupe.model.gpt.ParameterLayout;
import io.troupe.protocol.onnx.ModelProto;
import io.troupe.protocol.onnx.StringStringEntryProto;
import io.troupe.protocol.onnx.TensorProto;
import io.troupe.worker.run.ModelExport;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * The weights and metadata of an exported {@code model.onnx}, read back from its initializers
 * (one per parameter, by GPT-2 name), so an explanation can build its own graphs on them.
 */
final class ExportedWeights {
    private final Path file;
    private final Map<String, String> metadata;
    private final Map<String, TensorProto> initializers;

    private ExportedWeights(Path file, Map<String, String> metadata, Map<String, TensorProto> initializers) {
        this.file = file;
        this.metadata = metadata;
        this.initializers = initializers;
    }

    /** @throws DataException when {@code dir/model.onnx} is missing or unreadable */
    static ExportedWeights read(Path dir) throws DataException {
        Path file = dir.resolve(ModelExport.FILE_NAME);
        if (!Files.isRegularFile(file)) {
            throw new DataException(file + " does not exist; pass the --out directory of troupe train or troupe finetune");
        }
        ModelProto proto;
        try (InputStream in = Files.newInputStream(file)) {
            proto = ModelProto.parseFrom(in);
        } catch (IOException e) {
            throw new DataException(file + " is not a readable ONNX model (" + e.getMessage() + ")", e);
        }
        Map<String, String> meta = new HashMap<>();
        for (StringStringEntryProto p : proto.getMetadataPropsList()) {
            meta.put(p.getKey(), p.getValue());
        }
        Map<String, TensorProto> weights = new HashMap<>();
        for (TensorProto t : proto.getGraph().getInitializerList()) {
            weights.put(t.getName(), t);
        }
        return new ExportedWeights(file, meta, weights);
    }

    Path file() {
        return file;
    }

    Map<String, String> metadata() {
        return metadata;
    }

    /** The GPT shape from the metadata; biases and tied embeddings from which weights exist. */
    GptConfig config() throws DataException {
        try {
            return new GptConfig(intMeta(ModelExport.VOCAB_SIZE), intMeta(ModelExport.BLOCK_SIZE),
                    intMeta("troupe.n_layer"), intMeta("troupe.n_head"), intMeta("troupe.n_embd"), 0.0,
                    initializers.containsKey("ln_f.bias"), !initializers.containsKey("lm_head.weight"));
        } catch (IllegalArgumentException e) {
            throw new DataException(file + " describes an impossible model: " + e.getMessage(), e);
        }
    }

    /**
     * An encoder classifier's shape, from the {@code troupe.encoder} metadata its export keeps.
     *
     * @throws DataException when the export predates that key (fine-tune it again) or holds a bad shape
     */
    io.troupe.model.bert.EncoderConfig encoderConfig() throws DataException {
        String json = metadata.get(io.troupe.worker.run.ClassifierExport.ENCODER);
        if (json == null) {
            throw new DataException(file + " is an encoder classifier exported without its full shape ("
                    + io.troupe.worker.run.ClassifierExport.ENCODER + "); run its troupe finetune again to explain it");
        }
        try {
            @SuppressWarnings("unchecked")
            Map<String, Object> map = new com.fasterxml.jackson.databind.ObjectMapper().readValue(json, Map.class);
            return io.troupe.model.bert.EncoderConfig.fromMap(map);
        } catch (com.fasterxml.jackson.core.JsonProcessingException | IllegalArgumentException e) {
            throw new DataException(file + " has an unreadable " + io.troupe.worker.run.ClassifierExport.ENCODER
                    + " (" + e.getMessage() + ")", e);
        }
    }

    int intMeta(String key) throws DataException {
        String value = metadata.get(key);
        if (value == null) {
            throw new DataException(file + " has no " + key + " metadata; it was not exported by troupe train or finetune");
        }
        try {
            return Integer.parseInt(value);
        } catch (NumberFormatException e) {
            throw new DataException(file + " has a non-numeric " + key + " (" + value + ")", e);
        }
    }

    /** Every parameter of {@code layout}, flat, from the initializers of the same names. */
    float[] parameters(ParameterLayout layout) throws DataException {
        float[] params = new float[Math.toIntExact(layout.size())];
        for (ParameterLayout.View v : layout.views()) {
            TensorProto t = initializers.get(v.name());
            if (t == null || t.getDataType() != TensorProto.DataType.FLOAT_VALUE
                    || t.getRawData().size() != v.length() * Float.BYTES) {
                throw new DataException(file + " has no float parameter " + v.name() + " of " + v.length()
                        + " values; it is not a troupe export of the shape its metadata gives");
            }
            t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer()
                    .get(params, Math.toIntExact(v.offset()), Math.toIntExact(v.length()));
        }
        return params;
    }
}
