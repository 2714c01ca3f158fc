package io.troupe.data.prepare;

/** The tokenizers {@code troupe prepare} can produce. */
public enum TokenizerKind {
    /** One token per character; the vocabulary is the corpus's distinct characters. */
    CHAR,
    /** GPT-2's r50k_base BPE (50,257 tokens) via jtokkit. */
    GPT2,
    /** A byte-level BPE trained on the corpus's train split. */
    BPE
}
