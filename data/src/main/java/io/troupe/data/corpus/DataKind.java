package io.troupe.data.corpus;

/** What a data path holds. Labelled examples for classification will be a third kind. */
public enum DataKind {
    /** One UTF-8 text file, tokenized when it is opened. */
    TEXT_FILE("text file"),
    /** A directory {@code troupe prepare} wrote: manifest, tokenizer and token shards. */
    PREPARED_DATASET("dataset");

    private final String label;

    DataKind(String label) {
        this.label = label;
    }

    /** How messages name this kind, e.g. "text file". */
    public String label() {
        return label;
    }
}
