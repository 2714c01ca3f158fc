package io.troupe.data.tokenize;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.GptBytePairEncodingParams;
import io.troupe.data.DataException;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Set;

/**
 * A byte-level BPE trained by Troupe ({@link BpeTrainer}): ids 0-255 are the bytes, id
 * {@code 256 + i} is the i-th merge (the concatenation of the two tokens it joins), and special
 * tokens such as {@code <|endoftext|>} come last. Text is pre-tokenized with GPT-2's pattern
 * ({@link Pretokenizer}).
 *
 * <p>Encoding runs in jtokkit: its GPT byte-pair encoder takes any rank table, and a token's
 * rank is its id, so merges learnt earlier are applied first, as tiktoken does. Thread-safe.
 *
 * <p>JSON form: {@code {"type":"bpe","pattern":"gpt2","merges":[[116,104],...],
 * "special_tokens":["<|endoftext|>"]}}.
 */
public final class BpeTokenizer implements Tokenizer {

    /** The {@code "type"} of a trained BPE tokenizer's JSON. */
    public static final String TYPE = "bpe";
    /** The special token that ends each document in a prepared dataset. */
    public static final String END_OF_TEXT = "<|endoftext|>";
    /** Ids below this are single bytes. */
    public static final int BYTE_TOKENS = 256;

    private static final String PATTERN_NAME = "gpt2";

    private final int[][] merges;
    private final List<String> specialTokens;
    private final byte[][] tokenBytes;
    private final Encoding encoding;

    private BpeTokenizer(int[][] merges, List<String> specialTokens, byte[][] tokenBytes) {
        this.merges = merges;
        this.specialTokens = List.copyOf(specialTokens);
        this.tokenBytes = tokenBytes;
        Map<byte[], Integer> ranks = new HashMap<>(tokenBytes.length * 2);
        for (int id = 0; id < tokenBytes.length; id++) {
            ranks.put(tokenBytes[id], id);
        }
        // Special tokens are left out: encode() is ordinary text only, and decode() is ours.
        this.encoding = Encodings.newLazyEncodingRegistry()
                .registerGptBytePairEncoding(new GptBytePairEncodingParams("troupe-bpe",
                        Pretokenizer.gpt2Pattern(), ranks, Map.of()))
                .getEncoding("troupe-bpe")
                .orElseThrow(() -> new IllegalStateException("jtokkit lost a registered encoding"));
    }

    /**
     * A tokenizer from merges in the order they were learnt.
     *
     * @param merges pair i = {left id, right id} makes token {@code 256 + i}; both ids must be
     *     smaller than {@code 256 + i}
     * @param specialTokens distinct, non-empty names, given ids after the merges
     * @throws IllegalArgumentException if a merge refers to a later token, two tokens have the
     *     same bytes (the encoder's ranks would be ambiguous), or a special token repeats
     */
    public static BpeTokenizer of(int[][] merges, List<String> specialTokens) {
        byte[][] tokenBytes = new byte[BYTE_TOKENS + merges.length][];
        for (int b = 0; b < BYTE_TOKENS; b++) {
            tokenBytes[b] = new byte[] {(byte) b};
        }
        Set<ByteBuffer> seen = new HashSet<>();
        for (int i = 0; i < merges.length; i++) {
            int id = BYTE_TOKENS + i;
            int[] pair = merges[i];
            if (pair.length != 2 || pair[0] < 0 || pair[1] < 0 || pair[0] >= id || pair[1] >= id) {
                throw new IllegalArgumentException("merge " + i + " " + Arrays.toString(pair)
                        + " must join two tokens with ids below " + id);
            }
            byte[] left = tokenBytes[pair[0]];
            byte[] right = tokenBytes[pair[1]];
            byte[] joined = Arrays.copyOf(left, left.length + right.length);
            System.arraycopy(right, 0, joined, left.length, right.length);
            if (!seen.add(ByteBuffer.wrap(joined))) {
                throw new IllegalArgumentException("merge " + i + " " + Arrays.toString(pair)
                        + " makes a token that an earlier merge already made");
            }
            tokenBytes[id] = joined;
        }
        Set<String> distinct = new HashSet<>();
        for (String special : specialTokens) {
            if (special.isEmpty() || !distinct.add(special)) {
                throw new IllegalArgumentException("special tokens must be distinct and non-empty, got "
                        + specialTokens);
            }
        }
        return new BpeTokenizer(merges.clone(), specialTokens, tokenBytes);
    }

    static BpeTokenizer fromJsonTree(JsonNode root, String source) throws DataException {
        JsonNode pattern = root.get("pattern");
        if (pattern != null && !PATTERN_NAME.equals(pattern.asText())) {
            throw new DataException(source + " uses pre-tokenization pattern \"" + pattern.asText()
                    + "\"; this version knows only \"" + PATTERN_NAME + "\", re-create it with prepare");
        }
        JsonNode mergesNode = root.get("merges");
        if (mergesNode == null || !mergesNode.isArray()) {
            throw new DataException(source + " has no \"merges\" array; re-create it with prepare");
        }
        int[][] merges = new int[mergesNode.size()][];
        for (int i = 0; i < merges.length; i++) {
            JsonNode pair = mergesNode.get(i);
            if (!pair.isArray() || pair.size() != 2 || !pair.get(0).isInt() || !pair.get(1).isInt()) {
                throw new DataException(source + ": merge " + i + " (" + pair + ") is not a pair of"
                        + " token ids; re-create the tokenizer with prepare");
            }
            merges[i] = new int[] {pair.get(0).intValue(), pair.get(1).intValue()};
        }
        List<String> specials = new ArrayList<>();
        JsonNode specialNode = root.get("special_tokens");
        if (specialNode != null) {
            for (JsonNode s : specialNode) {
                specials.add(s.asText());
            }
        }
        try {
            return of(merges, specials);
        } catch (IllegalArgumentException e) {
            throw new DataException(source + ": " + e.getMessage() + "; re-create the tokenizer with prepare", e);
        }
    }

    @Override
    public String type() {
        return TYPE;
    }

    @Override
    public int vocabSize() {
        return tokenBytes.length + specialTokens.size();
    }

    /** Number of merges: {@code vocabSize() - 256 - specialTokens().size()}. */
    public int mergeCount() {
        return merges.length;
    }

    /** The special tokens, in id order after the merges. */
    public List<String> specialTokens() {
        return specialTokens;
    }

    /** The bytes token {@code id} stands for (a special token: its UTF-8 name). */
    public byte[] tokenBytes(int id) {
        if (id >= 0 && id < tokenBytes.length) {
            return tokenBytes[id].clone();
        }
        int special = id - tokenBytes.length;
        if (special >= 0 && special < specialTokens.size()) {
            return specialTokens.get(special).getBytes(StandardCharsets.UTF_8);
        }
        throw new IllegalArgumentException("token id " + id + " is outside the bpe vocabulary [0, "
                + vocabSize() + ")");
    }

    @Override
    public OptionalInt endOfTextId() {
        int index = specialTokens.indexOf(END_OF_TEXT);
        return index < 0 ? OptionalInt.empty() : OptionalInt.of(tokenBytes.length + index);
    }

    @Override
    public int[] encode(String text) {
        return encoding.encodeOrdinary(text).toArray();
    }

    @Override
    public String decode(int[] tokens) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(tokens.length * 4);
        for (int i = 0; i < tokens.length; i++) {
            int id = tokens[i];
            if (id >= 0 && id < tokenBytes.length) {
                out.writeBytes(tokenBytes[id]);
            } else if (id >= tokenBytes.length && id < vocabSize()) {
                out.writeBytes(specialTokens.get(id - tokenBytes.length).getBytes(StandardCharsets.UTF_8));
            } else {
                throw new IllegalArgumentException("token id " + id + " at position " + i
                        + " is outside the bpe vocabulary [0, " + vocabSize() + ")");
            }
        }
        // A window cut inside a multi-byte character decodes to U+FFFD there, as GPT-2 does.
        return out.toString(StandardCharsets.UTF_8);
    }

    @Override
    public String toJson() {
        ObjectNode root = TokenizerJson.MAPPER.createObjectNode();
        root.put("type", TYPE);
        root.put("pattern", PATTERN_NAME);
        ArrayNode mergesNode = root.putArray("merges");
        for (int[] pair : merges) {
            mergesNode.addArray().add(pair[0]).add(pair[1]);
        }
        ArrayNode specials = root.putArray("special_tokens");
        specialTokens.forEach(specials::add);
        return root.toString();
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof BpeTokenizer that && Arrays.deepEquals(merges, that.merges)
                && specialTokens.equals(that.specialTokens);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.deepHashCode(merges) + specialTokens.hashCode();
    }

    @Override
    public String toString() {
        return "BpeTokenizer[vocabSize=" + vocabSize() + ", merges=" + merges.length
                + ", special=" + specialTokens + "]";
    }
}
