package io.troupe.data.ingest;

import java.util.List;
import org.apache.pekko.util.ByteString;

/** Cuts the byte stream of one file into documents; one instance per file, fed in order. */
interface Framer {

    /** Takes the next bytes of the file and returns the documents they complete. */
    List<Ingested> accept(ByteString chunk);

    /** The end of the file: returns what is left. */
    List<Ingested> finish();

    /** Whether the file turned out binary; nothing more will come out, so reading can stop. */
    boolean isBinary();
}
