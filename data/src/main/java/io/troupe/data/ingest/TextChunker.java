package io.troupe.data.ingest;

import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.util.ByteString;

/**
 * Cuts a plain-text file into documents of at most {@code maxBytes} bytes, preferring to cut
 * after a blank line, then after a newline, and only then inside a line (never inside a UTF-8
 * character). A cut is looked for in the second half of the limit, so documents are not
 * needlessly small. No byte is lost: the documents concatenate to the file.
 *
 * <p>Holds at most about {@code maxBytes} plus one read chunk, whatever the file size.
 */
final class TextChunker implements Framer {

    private final InputFile file;
    private final int maxBytes;
    private final ByteBuf buf = new ByteBuf();
    private int part;
    private long line = 1;
    private boolean sniffed;
    private boolean binary;

    TextChunker(InputFile file, int maxBytes) {
        this.file = file;
        this.maxBytes = maxBytes;
    }

    @Override
    public List<Ingested> accept(ByteString chunk) {
        if (binary) {
            return List.of();
        }
        buf.append(chunk);
        List<Ingested> out = new ArrayList<>(2);
        if (!sniffed) {
            if (buf.length < BinarySniffer.SNIFF_BYTES) {
                return out;
            }
            if (sniff(out)) {
                return out;
            }
        }
        while (buf.length > maxBytes) {
            emit(cutPoint(), out);
        }
        return out;
    }

    @Override
    public List<Ingested> finish() {
        List<Ingested> out = new ArrayList<>(2);
        if (binary || (!sniffed && sniff(out))) {
            return out;
        }
        while (buf.length > maxBytes) {
            emit(cutPoint(), out);
        }
        if (buf.length > 0) {
            emit(buf.length, out);
        }
        return out;
    }

    @Override
    public boolean isBinary() {
        return binary;
    }

    private boolean sniff(List<Ingested> out) {
        sniffed = true;
        if (BinarySniffer.looksBinary(buf.data, buf.length)) {
            binary = true;
            buf.length = 0;
            out.add(new SkippedInput(file, 0, SkippedInput.Reason.BINARY_FILE, ""));
        }
        return binary;
    }

    /** Where the next document ends (exclusive), at most maxBytes in. */
    private int cutPoint() {
        byte[] b = buf.data;
        int floor = maxBytes / 2;
        // after a blank line: "\n\n" or "\n\r\n" ends at p - 1
        for (int p = maxBytes; p > floor; p--) {
            if (b[p - 1] == '\n' && (b[p - 2] == '\n' || (b[p - 2] == '\r' && b[p - 3] == '\n'))) {
                return p;
            }
        }
        for (int p = maxBytes; p > floor; p--) {
            if (b[p - 1] == '\n') {
                return p;
            }
        }
        int p = maxBytes;
        // back off UTF-8 continuation bytes (10xxxxxx) so a character is never split
        while (p > maxBytes - 4 && (b[p] & 0xC0) == 0x80) {
            p--;
        }
        return p;
    }

    private void emit(int end, List<Ingested> out) {
        byte[] bytes = buf.copy(0, end);
        out.add(new RawDocument(file, file.id() + "#" + part, line, bytes));
        part++;
        for (byte x : bytes) {
            if (x == '\n') {
                line++;
            }
        }
        buf.discard(end);
    }
}
