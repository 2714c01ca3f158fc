package io.troupe.data.prepare;

/** The tokenizers {@code troupe prepare} can produce. */
public enum TokenizerKind {
    /** One token per character; the vocabulary is the corpus's distinct characters. */
    CHAR,
    /** GPT-2's r50k_base BPE (50,257 tokens) via jtokkit. */
    GPT2,
    /** A byte-level BPE trained on the corpus's train split. */
    BPE,
    /**
     * An uncased WordPiece (BERT's kind) trained on the corpus's train split, saved as a Hugging
     * Face tokenizer.json; its special tokens are BERT's five and [SEP] ends each document.
     */
    WORDPIECE
}
