package io.troupe.data.ingest;

import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.util.ByteString;

/**
 * The part every framer shares: buffer the file's bytes, look at its first
 * {@link BinarySniffer#SNIFF_BYTES} before cutting anything, and stop at once (reporting the
 * file as skipped) when they look binary. Subclasses only decide where documents end.
 */
abstract class SniffingFramer implements Framer {

    protected final InputFile file;
    protected final ByteBuf buf = new ByteBuf();
    private boolean sniffed;
    private boolean binary;

    SniffingFramer(InputFile file) {
        this.file = file;
    }

    /** Emits the documents the buffered bytes complete (more bytes may follow). */
    protected abstract void drain(List<Ingested> out);

    /** Emits everything still buffered: the file has ended. */
    protected abstract void drainRest(List<Ingested> out);

    @Override
    public final List<Ingested> accept(ByteString chunk) {
        if (binary) {
            return List.of();
        }
        buf.append(chunk);
        List<Ingested> out = new ArrayList<>(2);
        if (!sniffed && (buf.length < BinarySniffer.SNIFF_BYTES || sniff(out))) {
            return out;
        }
        drain(out);
        return out;
    }

    @Override
    public final List<Ingested> finish() {
        List<Ingested> out = new ArrayList<>(2);
        if (binary || (!sniffed && sniff(out))) {
            return out;
        }
        drainRest(out);
        return out;
    }

    @Override
    public final boolean isBinary() {
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
}
