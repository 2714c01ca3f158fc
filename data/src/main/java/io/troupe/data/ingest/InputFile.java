package io.troupe.data.ingest;

import java.nio.file.Path;

/**
 * One file to read.
 *
 * @param path where it is
 * @param id its identity in the corpus: the path relative to the {@code --input} it was found
 *     under, with '/' separators (just the file name for a file given directly). Document ids,
 *     and so the train/val split, derive from it, so moving the corpus keeps the split.
 * @param format how its content is cut into documents
 * @param gzip whether it is gzip-compressed ({@code .gz})
 * @param size its size on disk in bytes (compressed, for gzip)
 */
public record InputFile(Path path, String id, Format format, boolean gzip, long size) {

    /** How a file's content becomes documents. */
    public enum Format {
        /** Plain text (.txt, .md): cut into documents of bounded size at blank lines. */
        TEXT,
        /** One JSON object per line; a field holds the document's text. */
        JSONL
    }
}
