package io.troupe.data.ingest;

/**
 * Input that cannot become a document: the report counts it, and in strict mode it is fatal.
 *
 * @param file the file at fault
 * @param line the 1-based line, or 0 when the whole file is at fault
 * @param reason why
 * @param detail the underlying message (an I/O error), or empty
 */
public record SkippedInput(InputFile file, long line, Reason reason, String detail) implements Ingested {

    /** Why input was skipped. */
    public enum Reason {
        /** The file has a NUL byte in its first 8 KiB: not text (or UTF-16, which is unsupported). */
        BINARY_FILE,
        /** Reading or decompressing failed part way (a corrupt gzip, a permission problem). */
        UNREADABLE_FILE,
        /** A JSONL line longer than max_jsonl_line_bytes. */
        LINE_TOO_LONG
    }

    @Override
    public long weight() {
        return 1;
    }

    /** A one-line description naming the file (and line) for errors and logs. */
    public String describe() {
        String where = file.path() + (line > 0 ? ":" + line : "");
        return switch (reason) {
            case BINARY_FILE -> where + " looks binary (it has a NUL byte in its first "
                    + BinarySniffer.SNIFF_BYTES + " bytes); remove it or pass only text files";
            case UNREADABLE_FILE -> "cannot read " + where + ": " + detail;
            case LINE_TOO_LONG -> where + ": JSONL line longer than max_jsonl_line_bytes (" + detail
                    + " bytes); raise max_jsonl_line_bytes or fix the file";
        };
    }
}
