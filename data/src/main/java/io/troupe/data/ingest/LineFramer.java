package io.troupe.data.ingest;

import java.util.List;

/**
 * Cuts a JSONL file into lines, one document per non-blank line (a trailing {@code \r} is
 * dropped). A line longer than {@code maxLineBytes} is reported as {@link SkippedInput} and its
 * bytes are discarded as they arrive, so memory stays bounded by the limit.
 */
final class LineFramer extends SniffingFramer {

    private final int maxLineBytes;
    private long line = 1;
    private int scanned; // bytes of buf already searched for '\n'
    private boolean skipping; // inside an over-long line, discarding until its newline

    LineFramer(InputFile file, int maxLineBytes) {
        super(file);
        this.maxLineBytes = maxLineBytes;
    }

    @Override
    protected void drain(List<Ingested> out) {
        drainLines(out);
    }

    @Override
    protected void drainRest(List<Ingested> out) {
        drainLines(out);
        if (!skipping && buf.length > 0) {
            emitLine(0, buf.length, out);
        }
        buf.length = 0;
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
