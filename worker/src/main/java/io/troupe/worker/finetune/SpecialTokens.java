package io.troupe.worker.finetune;

import io.troupe.data.tokenize.HfJsonTokenizer;
import java.util.Map;
import java.util.OptionalInt;

/**
 * The tokens a BERT-style encoder wraps every text in, {@code [CLS] text [SEP]}, as it was
 * pretrained; a GPT uses none.
 *
 * @param cls the id of [CLS], first
 * @param sep the id of [SEP], last
 */
public record SpecialTokens(long cls, long sep) {
    /** Model metadata key holding "cls sep" ids (absent: no wrapping). */
    public static final String METADATA = "troupe.special_tokens";

    /**
     * [CLS] and [SEP] of {@code tokenizer}.
     *
     * @throws IllegalArgumentException when it has no [CLS] or [SEP] token
     */
    public static SpecialTokens of(HfJsonTokenizer tokenizer) {
        OptionalInt cls = tokenizer.tokenId("[CLS]");
        OptionalInt sep = tokenizer.tokenId("[SEP]");
        if (cls.isEmpty() || sep.isEmpty()) {
            throw new IllegalArgumentException("the tokenizer has no [CLS]/[SEP] token; an encoder needs a BERT"
                    + " WordPiece tokenizer.json");
        }
        return new SpecialTokens(cls.getAsInt(), sep.getAsInt());
    }

    /** "cls sep", for {@link #METADATA}. */
    public String toMetadata() {
        return cls + " " + sep;
    }

    /** The tokens named by {@link #METADATA} in {@code metadata}, or null when it names none. */
    public static SpecialTokens fromMetadata(Map<String, String> metadata) {
        String v = metadata.get(METADATA);
        if (v == null) {
            return null;
        }
        String[] parts = v.trim().split(" ");
        return new SpecialTokens(Long.parseLong(parts[0]), Long.parseLong(parts[1]));
    }
}
