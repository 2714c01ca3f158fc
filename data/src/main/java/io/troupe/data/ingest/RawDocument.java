package io.troupe.data.ingest;

/**
 * A document's undecoded bytes.
 *
 * @param file the file it came from
 * @param id its identity: {@code <file id>#<part>} for plain text, {@code <file id>:<line>} for JSONL
 * @param line the 1-based line of the (decompressed) file it starts on, for error messages
 * @param bytes its bytes: a piece of a text file, or one JSONL line without its newline
 */
public record RawDocument(InputFile file, String id, long line, byte[] bytes) implements Ingested {

    @Override
    public long weight() {
        return Math.max(1, bytes.length);
    }
}
