package io.troupe.data.tokenize;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingType;
import com.knuddels.jtokkit.api.IntArrayList;
import io.troupe.data.DataException;
import java.nio.charset.StandardCharsets;
import java.util.OptionalInt;

/**
 * GPT-2's byte-level BPE ({@code r50k_base}: 50,257 tokens, {@code <|endoftext|>} = 50256), as
 * implemented by the jtokkit library, so ids match OpenAI's tiktoken and Hugging Face's
 * {@code gpt2} tokenizer.
 *
 * <p>JSON form: {@code {"type":"gpt2","encoding":"r50k_base"}}; the merges ship inside jtokkit.
 * Thread-safe: jtokkit's encoder keeps no state between calls.
 */
public final class Gpt2Tokenizer implements Tokenizer {

    /** The {@code "type"} of a GPT-2 tokenizer's JSON. */
    public static final String TYPE = "gpt2";
    /** The tiktoken name of GPT-2's encoding. */
    public static final String ENCODING = "r50k_base";
    /** GPT-2's vocabulary: 50,000 merges, 256 byte tokens and {@code <|endoftext|>}. */
    public static final int VOCAB_SIZE = 50257;
    /** The id of {@code <|endoftext|>}, the last token. */
    public static final int END_OF_TEXT = 50256;

    // Loading the 50k merges takes ~100 ms; one shared instance serves every caller.
    private static final class Holder {
        static final Encoding ENCODING =
                Encodings.newLazyEncodingRegistry().getEncoding(EncodingType.R50K_BASE);
    }

    private static final Gpt2Tokenizer INSTANCE = new Gpt2Tokenizer();

    private Gpt2Tokenizer() {
    }

    /** The GPT-2 tokenizer. */
    public static Gpt2Tokenizer get() {
        return INSTANCE;
    }

    static Gpt2Tokenizer fromJsonTree(JsonNode root, String source) throws DataException {
        JsonNode encoding = root.get("encoding");
        if (encoding != null && !ENCODING.equals(encoding.asText())) {
            throw new DataException(source + " names encoding \"" + encoding.asText()
                    + "\"; a gpt2 tokenizer uses " + ENCODING + ", re-create it with prepare");
        }
        return INSTANCE;
    }

    @Override
    public String type() {
        return TYPE;
    }

    @Override
    public int vocabSize() {
        return VOCAB_SIZE;
    }

    @Override
    public OptionalInt endOfTextId() {
        return OptionalInt.of(END_OF_TEXT);
    }

    @Override
    public int[] encode(String text) {
        // encodeOrdinary: "<|endoftext|>" written inside a document is text, not a separator.
        return Holder.ENCODING.encodeOrdinary(text).toArray();
    }

    @Override
    public String decode(int[] tokens) {
        IntArrayList list = new IntArrayList(tokens.length);
        for (int i = 0; i < tokens.length; i++) {
            if (tokens[i] < 0 || tokens[i] >= VOCAB_SIZE) {
                throw new IllegalArgumentException("token id " + tokens[i] + " at position " + i
                        + " is outside the gpt2 vocabulary [0, " + VOCAB_SIZE + ")");
            }
            list.add(tokens[i]);
        }
        return new String(Holder.ENCODING.decodeBytes(list), StandardCharsets.UTF_8);
    }

    /** The bytes of {@code tokens}, which may end inside a UTF-8 character. */
    byte[] decodeBytes(int[] tokens) {
        IntArrayList list = new IntArrayList(tokens.length);
        for (int t : tokens) {
            list.add(t);
        }
        return Holder.ENCODING.decodeBytes(list);
    }

    @Override
    public String toJson() {
        ObjectNode root = TokenizerJson.MAPPER.createObjectNode();
        root.put("type", TYPE);
        root.put("encoding", ENCODING);
        return root.toString();
    }

    @Override
    public String toString() {
        return "Gpt2Tokenizer[" + ENCODING + ", vocabSize=" + VOCAB_SIZE + "]";
    }
}
