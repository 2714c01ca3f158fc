package io.troupe.data.tokenize;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.troupe.data.DataException;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A Hugging Face byte-level BPE (GPT-2's kind) with its own vocabulary and merges, as a model
 * directory's {@code vocab.json} + {@code merges.txt} or {@code tokenizer.json} gives them
 * ({@link HfTokenizerFiles} reads those).
 *
 * <p>Encoding is GPT-2's: text is cut by GPT-2's pattern ({@link Pretokenizer}), each piece's
 * UTF-8 bytes are written in the byte-level alphabet, and inside a piece the adjacent pair with
 * the lowest merge rank is merged (every occurrence, left to right) until no listed pair is left;
 * the resulting symbols are looked up in the vocabulary. This is merge-priority BPE, not
 * jtokkit's rank-of-the-result BPE ({@link BpeTokenizer}): the two differ when a vocabulary holds
 * a token that two merge orders can build, and a model's own vocabulary need not avoid that.
 * A vocabulary that is exactly GPT-2's is served by the faster {@link Gpt2Tokenizer} instead.
 *
 * <p>{@link #encode} never produces a special token: {@code <|endoftext|>} inside a text is
 * encoded as ordinary text, as {@link Gpt2Tokenizer} does. Thread-safe; pieces are cached.
 *
 * <p>JSON form: <code>{"type":"hf_bpe","vocab":{"!":0,...},"merges":["Ġ t",...]}</code>, the
 * strings of the Hugging Face files.
 */
public final class HfBpeTokenizer implements Tokenizer {

    /** The {@code "type"} of this tokenizer's JSON. */
    public static final String TYPE = "hf_bpe";

    private static final int CACHE_LIMIT = 100_000;

    private final Map<String, Integer> vocab;
    private final String[] tokens;
    private final List<String> merges;
    private final Map<String, Integer> mergeRanks;
    private final Map<String, int[]> cache = new ConcurrentHashMap<>();

    private HfBpeTokenizer(Map<String, Integer> vocab, String[] tokens, List<String> merges,
                           Map<String, Integer> mergeRanks) {
        this.vocab = vocab;
        this.tokens = tokens;
        this.merges = merges;
        this.mergeRanks = mergeRanks;
    }

    /**
     * A tokenizer from a vocabulary (token string in the byte-level alphabet to id) and merges
     * ({@code "left right"}, in rank order).
     *
     * @throws IllegalArgumentException if ids are not exactly 0..n-1, a byte's token is missing
     *     (a byte-level vocabulary must hold all 256, or some text could not be encoded), or a
     *     merge is not two vocabulary tokens whose concatenation is one too; the message names it
     */
    public static HfBpeTokenizer of(Map<String, Integer> vocab, List<String> merges) {
        String[] tokens = new String[vocab.size()];
        for (Map.Entry<String, Integer> e : vocab.entrySet()) {
            int id = e.getValue();
            if (id < 0 || id >= tokens.length) {
                throw new IllegalArgumentException("token '" + e.getKey() + "' has id " + id + "; the " + tokens.length
                        + " ids must be 0.." + (tokens.length - 1));
            }
            if (tokens[id] != null) {
                throw new IllegalArgumentException("tokens '" + tokens[id] + "' and '" + e.getKey() + "' share id " + id);
            }
            tokens[id] = e.getKey();
        }
        for (int b = 0; b < 256; b++) {
            if (!vocab.containsKey(String.valueOf(ByteLevelAlphabet.charOf(b)))) {
                throw new IllegalArgumentException(String.format("there is no token for byte 0x%02x ('%c'); a byte-level"
                        + " vocabulary holds all 256 bytes", b, ByteLevelAlphabet.charOf(b)));
            }
        }
        Map<String, Integer> ranks = new HashMap<>(merges.size() * 2);
        for (int i = 0; i < merges.size(); i++) {
            String merge = merges.get(i);
            String[] pair = merge.split(" ", -1);
            if (pair.length != 2 || pair[0].isEmpty() || pair[1].isEmpty()) {
                throw new IllegalArgumentException("merge " + (i + 1) + " '" + merge + "' is not two tokens separated by one space");
            }
            for (String part : new String[] {pair[0], pair[1], pair[0] + pair[1]}) {
                if (!vocab.containsKey(part)) {
                    throw new IllegalArgumentException("merge " + (i + 1) + " '" + merge + "' needs token '" + part
                            + "', which is not in the vocabulary");
                }
            }
            ranks.putIfAbsent(merge, i);
        }
        return new HfBpeTokenizer(Map.copyOf(vocab), tokens, List.copyOf(merges), ranks);
    }

    static HfBpeTokenizer fromJsonTree(JsonNode root, String source) throws DataException {
        JsonNode vocabNode = root.get("vocab");
        JsonNode mergesNode = root.get("merges");
        if (vocabNode == null || !vocabNode.isObject() || mergesNode == null || !mergesNode.isArray()) {
            throw new DataException(source + " has no \"vocab\" object and \"merges\" array; re-create it from the"
                    + " model's vocab.json and merges.txt");
        }
        try {
            return of(HfTokenizerFiles.vocab(vocabNode), HfTokenizerFiles.merges(mergesNode));
        } catch (IllegalArgumentException e) {
            throw new DataException(source + ": " + e.getMessage(), e);
        }
    }

    @Override
    public String type() {
        return TYPE;
    }

    @Override
    public int vocabSize() {
        return tokens.length;
    }

    /** The vocabulary, token string to id. */
    public Map<String, Integer> vocab() {
        return vocab;
    }

    /** The merges, in rank order. */
    public List<String> merges() {
        return merges;
    }

    @Override
    public OptionalInt endOfTextId() {
        Integer id = vocab.get(BpeTokenizer.END_OF_TEXT);
        return id == null ? OptionalInt.empty() : OptionalInt.of(id);
    }

    @Override
    public int[] encode(String text) {
        List<int[]> pieces = new ArrayList<>();
        int[] total = {0};
        Pretokenizer.forEachPiece(text, piece -> {
            int[] ids = encodePiece(piece);
            pieces.add(ids);
            total[0] += ids.length;
        });
        int[] out = new int[total[0]];
        int at = 0;
        for (int[] ids : pieces) {
            System.arraycopy(ids, 0, out, at, ids.length);
            at += ids.length;
        }
        return out;
    }

    private int[] encodePiece(String piece) {
        int[] cached = cache.get(piece);
        if (cached != null) {
            return cached;
        }
        String mapped = ByteLevelAlphabet.encode(piece.getBytes(StandardCharsets.UTF_8));
        List<String> symbols = new ArrayList<>(mapped.length());
        for (int i = 0; i < mapped.length(); i++) {
            symbols.add(String.valueOf(mapped.charAt(i)));
        }
        while (symbols.size() > 1) {
            String best = null;
            int bestRank = Integer.MAX_VALUE;
            for (int i = 0; i + 1 < symbols.size(); i++) {
                Integer rank = mergeRanks.get(symbols.get(i) + " " + symbols.get(i + 1));
                if (rank != null && rank < bestRank) {
                    bestRank = rank;
                    best = symbols.get(i) + " " + symbols.get(i + 1);
                }
            }
            if (best == null) {
                break;
            }
            int space = best.indexOf(' ');
            String left = best.substring(0, space);
            String right = best.substring(space + 1);
            List<String> merged = new ArrayList<>(symbols.size());
            for (int i = 0; i < symbols.size(); i++) {
                if (i + 1 < symbols.size() && symbols.get(i).equals(left) && symbols.get(i + 1).equals(right)) {
                    merged.add(left + right);
                    i++;
                } else {
                    merged.add(symbols.get(i));
                }
            }
            symbols = merged;
        }
        int[] ids = new int[symbols.size()];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = vocab.get(symbols.get(i)); // present: bytes and merge results are checked in of()
        }
        if (cache.size() >= CACHE_LIMIT) {
            cache.clear();
        }
        cache.put(piece, ids);
        return ids;
    }

    @Override
    public String decode(int[] ids) {
        return new String(decodeBytes(ids), StandardCharsets.UTF_8);
    }

    /** The bytes of {@code ids}; a character outside the byte alphabet (in a special token) is its UTF-8. */
    byte[] decodeBytes(int[] ids) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(ids.length * 4);
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] >= tokens.length) {
                throw new IllegalArgumentException("token id " + ids[i] + " at position " + i + " is outside the "
                        + TYPE + " vocabulary [0, " + tokens.length + ")");
            }
            String token = tokens[ids[i]];
            for (int c = 0; c < token.length(); c++) {
                int b = ByteLevelAlphabet.byteOf(token.charAt(c));
                if (b >= 0) {
                    out.write(b);
                } else {
                    out.writeBytes(String.valueOf(token.charAt(c)).getBytes(StandardCharsets.UTF_8));
                }
            }
        }
        return out.toByteArray();
    }

    @Override
    public String toJson() {
        ObjectNode root = TokenizerJson.MAPPER.createObjectNode();
        root.put("type", TYPE);
        ObjectNode vocabNode = root.putObject("vocab");
        for (int id = 0; id < tokens.length; id++) {
            vocabNode.put(tokens[id], id);
        }
        ArrayNode mergesNode = root.putArray("merges");
        merges.forEach(mergesNode::add);
        return root.toString();
    }

    @Override
    public String toString() {
        return "HfBpeTokenizer[vocabSize=" + tokens.length + ", merges=" + merges.size() + "]";
    }
}
