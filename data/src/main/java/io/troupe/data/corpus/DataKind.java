package io.troupe.data.corpus;

import java.nio.file.Files;
import java.nio.file.Path;

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

    /** The kind of data at {@code path}, by what lies there: a directory is a dataset, anything else a text file. */
    public static DataKind of(Path path) {
        return Files.isDirectory(path) ? PREPARED_DATASET : TEXT_FILE;
    }

    /** How messages name this kind, e.g. "text file". */
    public String label() {
        return label;
    }
}
