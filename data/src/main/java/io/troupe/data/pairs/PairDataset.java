package io.troupe.data.pairs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.troupe.data.DataException;
import io.troupe.data.shard.TokenWidth;
import io.troupe.data.tokenize.Tokenizer;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.Map;

/**
 * A pairs dataset written by {@link PairsPreparer}, read back for a seq2seq trainer: the shared
 * tokenizer, the special-token ids, and each split's examples as source and target ids. Every
 * file's SHA-256 is checked against the manifest when opened, so a truncated or altered file is
 * refused rather than trained on. The ids live in memory (a few MB for the Tatoeba file).
 */
public final class PairDataset {
    /** The manifest's file name: it holds every split file's SHA-256, so its own hash names the dataset. */
    public static final String MANIFEST = PairsManifest.FILE_NAME;

    /** One split's examples. */
    public static final class Examples {
        private final int[] sourceIds;
        private final int[] targetIds;
        private final long[] sourceOffsets;
        private final long[] targetOffsets;

        Examples(int[] sourceIds, int[] targetIds, long[] sourceOffsets, long[] targetOffsets) {
            this.sourceIds = sourceIds;
            this.targetIds = targetIds;
            this.sourceOffsets = sourceOffsets;
            this.targetOffsets = targetOffsets;
        }

        /** Number of pairs. */
        public int size() {
            return sourceOffsets.length - 1;
        }

        /** The source ids of pair {@code i} (no special tokens). */
        public int[] source(int i) {
            return Arrays.copyOfRange(sourceIds, (int) sourceOffsets[i], (int) sourceOffsets[i + 1]);
        }

        /** The target ids of pair {@code i} (no special tokens). */
        public int[] target(int i) {
            return Arrays.copyOfRange(targetIds, (int) targetOffsets[i], (int) targetOffsets[i + 1]);
        }

        /** Source lengths, for a {@link LengthBucketSampler}. */
        public int[] sourceLengths() {
            return lengths(sourceOffsets);
        }

        /** Target lengths, for a {@link LengthBucketSampler}. */
        public int[] targetLengths() {
            return lengths(targetOffsets);
        }

        private static int[] lengths(long[] offsets) {
            int[] out = new int[offsets.length - 1];
            for (int i = 0; i < out.length; i++) {
                out[i] = (int) (offsets[i + 1] - offsets[i]);
            }
            return out;
        }
    }

    private final JsonNode manifest;
    private final Tokenizer tokenizer;
    private final Map<HashSplit.Part, Examples> splits;

    private PairDataset(JsonNode manifest, Tokenizer tokenizer, Map<HashSplit.Part, Examples> splits) {
        this.manifest = manifest;
        this.tokenizer = tokenizer;
        this.splits = splits;
    }

    /** Whether {@code dir} holds a pairs dataset (its manifest says format troupe-pairs). */
    public static boolean isPairsDataset(Path dir) {
        try {
            Path file = dir.resolve(PairsManifest.FILE_NAME);
            return Files.isRegularFile(file)
                    && PairsManifest.FORMAT.equals(new ObjectMapper().readTree(file.toFile()).path("format").asText());
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * Opens a pairs dataset.
     *
     * @throws DataException if the manifest is missing or of another format, or a file is
     *     missing or does not match its checksum
     */
    public static PairDataset open(Path dir) throws DataException {
        Path manifestFile = dir.resolve(PairsManifest.FILE_NAME);
        JsonNode manifest;
        try {
            manifest = new ObjectMapper().readTree(Files.readString(manifestFile));
        } catch (IOException e) {
            throw new DataException("cannot read " + manifestFile + " (" + e.getMessage() + "); prepare the pairs"
                    + " dataset with troupe prepare --pairs", e);
        }
        if (!PairsManifest.FORMAT.equals(manifest.path("format").asText())
                || manifest.path("version").asInt() != PairsManifest.VERSION) {
            throw new DataException(manifestFile + " is not a " + PairsManifest.FORMAT + " v" + PairsManifest.VERSION
                    + " manifest; prepare the dataset again with troupe prepare --pairs");
        }
        Tokenizer tokenizer = Tokenizer.load(dir);
        if (tokenizer.vocabSize() != manifest.path("vocab_size").asInt()) {
            throw new DataException(dir.resolve(Tokenizer.FILE_NAME) + " has " + tokenizer.vocabSize() + " ids but "
                    + manifestFile + " says " + manifest.path("vocab_size").asInt() + "; prepare the dataset again");
        }
        TokenWidth width = TokenWidth.fromId(manifest.path("dtype").asText());
        if (width == null) {
            throw new DataException(manifestFile + " has unknown dtype '" + manifest.path("dtype").asText() + "'");
        }
        Map<HashSplit.Part, Examples> splits = new EnumMap<>(HashSplit.Part.class);
        for (HashSplit.Part p : HashSplit.Part.values()) {
            JsonNode sums = manifest.path("splits").path(p.id()).path("sha256");
            Path d = dir.resolve(p.id());
            int[] source = tokens(read(d.resolve(PairsManifest.SOURCE_TOKENS), sums), width);
            int[] target = tokens(read(d.resolve(PairsManifest.TARGET_TOKENS), sums), width);
            ByteBuffer off = read(d.resolve(PairsManifest.OFFSETS), sums);
            int n = off.remaining() / 16 - 1;
            long[] so = new long[n + 1];
            long[] to = new long[n + 1];
            for (int i = 0; i <= n; i++) {
                so[i] = off.getLong();
            }
            for (int i = 0; i <= n; i++) {
                to[i] = off.getLong();
            }
            if (n < 0 || so[n] != source.length || to[n] != target.length) {
                throw new DataException(d.resolve(PairsManifest.OFFSETS) + " does not match the token files beside it;"
                        + " prepare the dataset again");
            }
            splits.put(p, new Examples(source, target, so, to));
        }
        return new PairDataset(manifest, tokenizer, splits);
    }

    private static ByteBuffer read(Path file, JsonNode sums) throws DataException {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new DataException("cannot read " + file + " (" + e.getMessage() + "); prepare the dataset again", e);
        }
        String expected = sums.path(file.getFileName().toString()).asText();
        String actual = PairsPreparer.sha256(ByteBuffer.wrap(bytes));
        if (!actual.equals(expected)) {
            throw new DataException(file + " has sha256 " + actual.substring(0, 12) + "…, not the manifest's "
                    + (expected.isEmpty() ? "(none)" : expected.substring(0, Math.min(12, expected.length())) + "…")
                    + "; the file is damaged, prepare the dataset again");
        }
        return ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static int[] tokens(ByteBuffer buf, TokenWidth width) {
        int[] ids = new int[buf.remaining() / width.bytes()];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = width == TokenWidth.UINT16 ? Short.toUnsignedInt(buf.getShort()) : buf.getInt();
        }
        return ids;
    }

    /** The manifest, as written. */
    public JsonNode manifest() {
        return manifest;
    }

    /** The shared BPE of both sides. */
    public Tokenizer tokenizer() {
        return tokenizer;
    }

    /** Id of the end-of-sequence token ({@code <|endoftext|>}). */
    public int eosId() {
        return manifest.path("special_tokens").path("eos").asInt();
    }

    /** Id of the padding token. */
    public int padId() {
        return manifest.path("special_tokens").path("pad").asInt();
    }

    /** Id of the decoder's start token. */
    public int bosId() {
        return manifest.path("special_tokens").path("bos").asInt();
    }

    /** The examples of one split. */
    public Examples split(HashSplit.Part part) {
        return splits.get(part);
    }
}
