package io.troupe.data.ingest;

import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.util.ByteString;

/**
 * Cuts a JSONL file into lines, one document per non-blank line (a trailing {@code \r} is
 * dropped). A line longer than {@code maxLineBytes} is reported as {@link SkippedInput} and its
 * bytes are discarded as they arrive, so memory stays bounded by the limit.
 */
final class LineFramer implements Framer {

    private final InputFile file;
    private final int maxLineBytes;
    private final ByteBuf buf = new ByteBuf();
    private long line = 1;
    private int scanned; // bytes of buf already searched for '\n'
    private boolean skipping; // inside an over-long line, discarding until its newline
    private boolean sniffed;
    private boolean binary;

    LineFramer(InputFile file, int maxLineBytes) {
        this.file = file;
        this.maxLineBytes = maxLineBytes;
    }

    @Override
    public List<Ingested> accept(ByteString chunk) {
        if (binary) {
            return List.of();
        }
        buf.append(chunk);
        List<Ingested> out = new ArrayList<>();
        if (!sniffed) {
            if (buf.length < BinarySniffer.SNIFF_BYTES || sniff(out)) {
                return out;
            }
        }
        drainLines(out);
        return out;
    }

    @Override
    public List<Ingested> finish() {
        List<Ingested> out = new ArrayList<>();
        if (binary || (!sniffed && sniff(out))) {
            return out;
        }
        drainLines(out);
        if (!skipping && buf.length > 0) {
            emitLine(0, buf.length, out);
        }
        buf.length = 0;
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

    private void drainLines(List<Ingested> out) {
        byte[] b = buf.data;
        int start = 0;
        for (int i = scanned; i < buf.length; i++) {
            if (b[i] == '\n') {
                if (skipping) {
                    skipping = false;
                } else {
                    emitLine(start, i, out);
                }
                line++;
                start = i + 1;
            }
        }
        buf.discard(start);
        scanned = buf.length;
        if (!skipping && buf.length > maxLineBytes) {
            out.add(new SkippedInput(file, line, SkippedInput.Reason.LINE_TOO_LONG,
                    String.valueOf(maxLineBytes)));
            skipping = true;
        }
        if (skipping) {
            buf.length = 0;
            scanned = 0;
        }
    }

    private void emitLine(int from, int to, List<Ingested> out) {
        if (to - from > maxLineBytes) {
            out.add(new SkippedInput(file, line, SkippedInput.Reason.LINE_TOO_LONG,
                    String.valueOf(maxLineBytes)));
            return;
        }
        byte[] b = buf.data;
        int end = to;
        if (end > from && b[end - 1] == '\r') {
            end--;
        }
        boolean blank = true;
        for (int i = from; i < end && blank; i++) {
            blank = b[i] == ' ' || b[i] == '\t' || b[i] == '\r';
        }
        if (!blank) {
            out.add(new RawDocument(file, file.id() + ":" + line, line, buf.copy(from, end)));
        }
    }
}
