package io.troupe.data.prepare;

import io.troupe.data.shard.Split;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.NoSuchElementException;

/**
 * The cleaned, deduplicated documents between the two passes of a char or bpe prepare: their
 * tokenizer can only be built once the whole corpus (its characters, its piece counts) has been
 * seen, and redoing the cleaning and dedup would cost more than writing the text once. Records
 * are {@code [split: 1 byte][length: 4 bytes][UTF-8 text]}; the file lives in the output's
 * staging directory and is deleted at the end.
 */
final class Spool {

    private final Path file;
    private DataOutputStream out;
    private long bytes;

    Spool(Path file) {
        this.file = file;
    }

    /** Appends a document. */
    void write(KeptDocument doc) {
        try {
            if (out == null) {
                out = new DataOutputStream(new BufferedOutputStream(Files.newOutputStream(file), 1 << 20));
            }
            byte[] text = doc.text().getBytes(StandardCharsets.UTF_8);
            out.writeByte(doc.split().ordinal());
            out.writeInt(text.length);
            out.write(text);
            bytes += 5L + text.length;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the spool " + file, e);
        }
    }

    /** Ends writing. */
    void close() throws IOException {
        if (out != null) {
            out.close();
            out = null;
        }
    }

    /** Bytes written. */
    long bytes() {
        return bytes;
    }

    /** Reads the documents back, in the order written; the iterator closes the file at the end. */
    Iterator<KeptDocument> reader() {
        if (bytes == 0) {
            return java.util.Collections.emptyIterator();
        }
        return new Iterator<>() {
            private final DataInputStream in = open();
            private KeptDocument next = advance();

            @Override
            public boolean hasNext() {
                return next != null;
            }

            @Override
            public KeptDocument next() {
                if (next == null) {
                    throw new NoSuchElementException();
                }
                KeptDocument current = next;
                next = advance();
                return current;
            }

            private DataInputStream open() {
                try {
                    return new DataInputStream(new BufferedInputStream(Files.newInputStream(file), 1 << 20));
                } catch (IOException e) {
                    throw new UncheckedIOException("cannot read the spool " + file, e);
                }
            }

            private KeptDocument advance() {
                try {
                    int split;
                    try {
                        split = in.readUnsignedByte();
                    } catch (EOFException end) {
                        in.close();
                        return null;
                    }
                    byte[] text = new byte[in.readInt()];
                    in.readFully(text);
                    return new KeptDocument(Split.values()[split], new String(text, StandardCharsets.UTF_8));
                } catch (IOException e) {
                    throw new UncheckedIOException("cannot read the spool " + file, e);
                }
            }
        };
    }
}
