package io.troupe.data.tokenize;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.troupe.data.DataException;
import java.util.Arrays;
import java.util.BitSet;

/**
 * One token per Unicode code point, as nanoGPT's {@code shakespeare_char}: the vocabulary is
 * the sorted distinct characters of the corpus ({@code sorted(set(text))}), and a character's
 * id is its rank in that order. Tiny Shakespeare gives 65 tokens.
 *
 * <p>JSON form: {@code {"type":"char","vocab":["\n"," ","!",...]}}, entry i being the text of
 * token i.
 */
public final class CharTokenizer implements Tokenizer {

    /** The {@code "type"} of a char tokenizer's JSON. */
    public static final String TYPE = "char";

    // Sorted ascending, so a code point's id is its index and lookup is a binary search.
    private final int[] codePoints;
    // Id of each code point below bmpIds.length, -1 where absent: encoding a corpus of gigabytes
    // looks up every character, and a table read is several times faster than a binary search.
    private final int[] bmpIds;

    private CharTokenizer(int[] sortedDistinctCodePoints) {
        this.codePoints = sortedDistinctCodePoints;
        int bmpCount = 0;
        while (bmpCount < codePoints.length && codePoints[bmpCount] <= Character.MAX_VALUE) {
            bmpCount++;
        }
        this.bmpIds = new int[bmpCount == 0 ? 0 : codePoints[bmpCount - 1] + 1];
        Arrays.fill(bmpIds, -1);
        for (int id = 0; id < bmpCount; id++) {
            bmpIds[codePoints[id]] = id;
        }
    }

    /**
     * Builds the vocabulary of {@code text}: its distinct code points in ascending order.
     *
     * @throws IllegalArgumentException if the text is empty
     */
    public static CharTokenizer fromText(String text) {
        if (text.isEmpty()) {
            throw new IllegalArgumentException(
                    "cannot build a char vocabulary from empty text; pass the training corpus");
        }
        return new CharTokenizer(text.codePoints().distinct().sorted().toArray());
    }

    /**
     * Builds the vocabulary of a corpus seen in pieces: {@code codePoints} has bit c set for
     * every code point c that occurs. Equals {@link #fromText} of the whole corpus.
     *
     * @throws IllegalArgumentException if no bit is set
     */
    public static CharTokenizer fromCodePoints(BitSet codePoints) {
        if (codePoints.isEmpty()) {
            throw new IllegalArgumentException(
                    "cannot build a char vocabulary from empty text; pass the training corpus");
        }
        return new CharTokenizer(codePoints.stream().toArray());
    }

    static CharTokenizer fromJsonTree(JsonNode root, String source) throws DataException {
        JsonNode vocab = root.get("vocab");
        if (vocab == null || !vocab.isArray() || vocab.isEmpty()) {
            throw new DataException(source + " has no non-empty \"vocab\" array;"
                    + " re-create it with prepare");
        }
        int[] codePoints = new int[vocab.size()];
        for (int id = 0; id < codePoints.length; id++) {
            JsonNode entry = vocab.get(id);
            String text = entry.isTextual() ? entry.asText() : "";
            if (text.isEmpty() || text.codePointCount(0, text.length()) != 1) {
                throw new DataException(source + ": vocab entry " + id + " (" + entry
                        + ") is not a single character; re-create the tokenizer with prepare");
            }
            codePoints[id] = text.codePointAt(0);
            if (id > 0 && codePoints[id] <= codePoints[id - 1]) {
                throw new DataException(source + ": vocab entry " + id + " "
                        + describe(codePoints[id]) + " does not sort after entry " + (id - 1)
                        + " " + describe(codePoints[id - 1]) + "; a char vocabulary is sorted and"
                        + " distinct, re-create the tokenizer with prepare");
            }
        }
        return new CharTokenizer(codePoints);
    }

    @Override
    public String type() {
        return TYPE;
    }

    @Override
    public int vocabSize() {
        return codePoints.length;
    }

    @Override
    public int[] encode(String text) {
        int[] ids = new int[text.length()];
        int count = 0;
        for (int i = 0; i < text.length(); ) {
            char c = text.charAt(i);
            if (c < bmpIds.length && bmpIds[c] >= 0 && !Character.isSurrogate(c)) {
                ids[count++] = bmpIds[c];
                i++;
                continue;
            }
            int codePoint = text.codePointAt(i);
            int id = Arrays.binarySearch(codePoints, codePoint);
            if (id < 0) {
                throw new IllegalArgumentException("character " + describe(codePoint)
                        + " at index " + i + " is not in the char tokenizer's vocabulary of "
                        + codePoints.length + " characters; use only characters of the training"
                        + " corpus, or rebuild the tokenizer from a corpus that contains it");
            }
            ids[count++] = id;
            i += Character.charCount(codePoint);
        }
        // Only text with characters outside the BMP (two chars, one token) leaves a tail.
        return count == ids.length ? ids : Arrays.copyOf(ids, count);
    }

    @Override
    public String decode(int[] tokens) {
        StringBuilder text = new StringBuilder(tokens.length);
        for (int i = 0; i < tokens.length; i++) {
            int id = tokens[i];
            if (id < 0 || id >= codePoints.length) {
                throw new IllegalArgumentException("token id " + id + " at position " + i
                        + " is outside the char vocabulary [0, " + codePoints.length
                        + "); decode ids produced by a model trained with this tokenizer");
            }
            text.appendCodePoint(codePoints[id]);
        }
        return text.toString();
    }

    @Override
    public String toJson() {
        ObjectNode root = TokenizerJson.MAPPER.createObjectNode();
        root.put("type", TYPE);
        ArrayNode vocab = root.putArray("vocab");
        for (int codePoint : codePoints) {
            vocab.add(Character.toString(codePoint));
        }
        try {
            return TokenizerJson.MAPPER.writeValueAsString(root);
        } catch (JsonProcessingException e) {
            // A tree of strings always serialises; reaching here is a bug, not bad input.
            throw new IllegalStateException("cannot serialise a char tokenizer", e);
        }
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof CharTokenizer that && Arrays.equals(codePoints, that.codePoints);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(codePoints);
    }

    @Override
    public String toString() {
        return "CharTokenizer[vocabSize=" + codePoints.length + "]";
    }

    /** {@code 'é' (U+00E9)}, or just {@code U+000A} for a character that does not print. */
    static String describe(int codePoint) {
        String hex = String.format("U+%04X", codePoint);
        boolean printable = !Character.isISOControl(codePoint)
                && !Character.isWhitespace(codePoint)
                && Character.isDefined(codePoint)
                && Character.getType(codePoint) != Character.SURROGATE
                && Character.getType(codePoint) != Character.FORMAT;
        return printable ? "'" + Character.toString(codePoint) + "' (" + hex + ")" : hex;
    }
}
