package io.troupe.data.shard;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.troupe.data.DataException;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code manifest.json}: what a prepared dataset holds. Written last, so its presence means the
 * dataset is complete.
 *
 * <pre>{@code
 * {"format": "troupe-dataset", "version": 1, "tokenizer": "bpe", "vocab_size": 4096,
 *  "dtype": "uint16", "documents": 1234, "tokens": {"train": 900000, "val": 100000},
 *  "shards": [{"path": "train/shard-000000.bin", "split": "train", "tokens": 900000,
 *              "sha256": "..."}, ...],
 *  "settings": {...}, "report": {...}}
 * }</pre>
 *
 * @param tokenizer the tokenizer's type
 * @param vocabSize its vocabulary size
 * @param dtype how shards store ids
 * @param documents documents kept, both splits
 * @param trainTokens tokens in train
 * @param valTokens tokens in val
 * @param shards every shard, train first, in order
 * @param settings the prepare settings used
 * @param report the prepare report
 */
public record Manifest(String tokenizer, int vocabSize, TokenWidth dtype, long documents, long trainTokens,
        long valTokens, List<ShardInfo> shards, JsonNode settings, JsonNode report) {

    /** The manifest's file name inside a dataset directory. */
    public static final String FILE_NAME = "manifest.json";
    /** The value of its {@code "format"} field. */
    public static final String FORMAT = "troupe-dataset";
    /** The format version this code writes and reads. */
    public static final int VERSION = 1;

    private static final ObjectMapper MAPPER = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /** The shards of one split, in order. */
    public List<ShardInfo> shards(Split split) {
        return shards.stream().filter(s -> s.split() == split).toList();
    }

    /** The manifest as pretty-printed JSON. */
    public String toJson() {
        ObjectNode root = MAPPER.createObjectNode();
        root.put("format", FORMAT);
        root.put("version", VERSION);
        root.put("tokenizer", tokenizer);
        root.put("vocab_size", vocabSize);
        root.put("dtype", dtype.id());
        root.put("documents", documents);
        root.putObject("tokens").put("train", trainTokens).put("val", valTokens);
        ArrayNode list = root.putArray("shards");
        for (ShardInfo s : shards) {
            list.addObject().put("path", s.path()).put("split", s.split().id()).put("tokens", s.tokens())
                    .put("sha256", s.sha256());
        }
        root.set("settings", settings);
        root.set("report", report);
        try {
            return MAPPER.writeValueAsString(root);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot serialise a manifest", e);
        }
    }

    /**
     * Reads a manifest.
     *
     * @param source names the file in error messages
     * @throws DataException if the JSON is malformed, of another format or version, or inconsistent
     */
    public static Manifest parse(String json, String source) throws DataException {
        JsonNode root;
        try {
            root = MAPPER.readTree(json);
        } catch (JsonProcessingException e) {
            throw new DataException(source + " is not valid JSON (" + e.getOriginalMessage()
                    + "); re-create the dataset with troupe prepare", e);
        }
        if (root == null || !root.isObject() || !FORMAT.equals(root.path("format").asText())) {
            throw new DataException(source + " is not a Troupe dataset manifest (no \"format\": \""
                    + FORMAT + "\"); re-create the dataset with troupe prepare");
        }
        if (root.path("version").asInt() != VERSION) {
            throw new DataException(source + " has format version " + root.path("version")
                    + "; this Troupe reads version " + VERSION + ", re-create the dataset with troupe prepare");
        }
        TokenWidth dtype = TokenWidth.fromId(root.path("dtype").asText());
        if (dtype == null) {
            throw new DataException(source + " has unknown dtype " + root.path("dtype")
                    + "; expected uint16 or uint32");
        }
        List<ShardInfo> shards = new ArrayList<>();
        for (JsonNode s : root.path("shards")) {
            Split split = Split.fromId(s.path("split").asText());
            String path = s.path("path").asText();
            if (split == null || path.isEmpty() || path.contains("..") || path.startsWith("/")
                    || !s.path("tokens").canConvertToLong() || s.path("sha256").asText().length() != 64) {
                throw new DataException(source + " lists a malformed shard " + s
                        + "; re-create the dataset with troupe prepare");
            }
            shards.add(new ShardInfo(path, split, s.path("tokens").asLong(), s.path("sha256").asText()));
        }
        Manifest m = new Manifest(root.path("tokenizer").asText(), root.path("vocab_size").asInt(), dtype,
                root.path("documents").asLong(), root.path("tokens").path("train").asLong(),
                root.path("tokens").path("val").asLong(), List.copyOf(shards), root.path("settings"),
                root.path("report"));
        for (Split split : Split.values()) {
            long sum = m.shards(split).stream().mapToLong(ShardInfo::tokens).sum();
            long stated = split == Split.TRAIN ? m.trainTokens : m.valTokens;
            if (sum != stated) {
                throw new DataException(source + " says " + split.id() + " has " + stated
                        + " tokens but its shards hold " + sum + "; re-create the dataset with troupe prepare");
            }
        }
        return m;
    }
}
