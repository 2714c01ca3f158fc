package io.troupe.data.shard;

import io.troupe.data.corpus.TokenSequence;

/** How token ids are stored in shard files: little-endian unsigned integers of 2 or 4 bytes. */
public enum TokenWidth {
    /** Two bytes a token, as nanoGPT's and llm.c's .bin files; vocabularies up to 65,536. */
    UINT16(2),
    /** Four bytes a token, for bigger vocabularies. */
    UINT32(4);

    private final int bytes;

    TokenWidth(int bytes) {
        this.bytes = bytes;
    }

    /** Bytes per token. */
    public int bytes() {
        return bytes;
    }

    /** The name in the manifest: "uint16" or "uint32". */
    public String id() {
        return this == UINT16 ? "uint16" : "uint32";
    }

    /** The narrowest width that holds every id of a vocabulary. */
    public static TokenWidth forVocab(int vocabSize) {
        return vocabSize <= TokenSequence.UINT16_VOCAB_LIMIT ? UINT16 : UINT32;
    }

    /** The width named {@code id}, or null. */
    public static TokenWidth fromId(String id) {
        for (TokenWidth w : values()) {
            if (w.id().equals(id)) {
                return w;
            }
        }
        return null;
    }
}
