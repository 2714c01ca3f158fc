package io.troupe.data.ingest;

import java.util.Optional;
import java.util.function.LongConsumer;
import org.apache.pekko.NotUsed;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.japi.pf.PFBuilder;
import org.apache.pekko.stream.javadsl.Compression;
import org.apache.pekko.stream.javadsl.FileIO;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;

/**
 * Pekko Streams sources of documents: bytes from {@link FileIO} (on Pekko's blocking-I/O
 * dispatcher), gunzipped for {@code .gz}, cut into documents by a {@link Framer}. Files are read
 * one after the other, in order; backpressure from downstream stops reading when the workers
 * are busy, so no more than a few read chunks per file are ever in memory.
 */
public final class FileSources {

    private static final int READ_CHUNK = 64 * 1024;

    private FileSources() {
    }

    /**
     * Documents of all files, file after file.
     *
     * @param bytesRead called with the size of each chunk read from disk (compressed bytes for
     *     gzip), for progress reporting
     */
    public static Source<Ingested, NotUsed> of(InputFiles files, ReadSettings settings, LongConsumer bytesRead) {
        return Source.from(files.files()).flatMapConcat(file -> of(file, settings, bytesRead));
    }

    /**
     * Documents of one file. A file that cannot be read, or stops being readable part way (a
     * corrupt gzip), ends with a {@link SkippedInput} of reason UNREADABLE_FILE instead of
     * failing the stream, so one bad file does not lose the others (unless strict).
     */
    public static Source<Ingested, NotUsed> of(InputFile file, ReadSettings settings, LongConsumer bytesRead) {
        Source<ByteString, ?> bytes = FileIO.fromPath(file.path(), READ_CHUNK)
                .map(chunk -> {
                    bytesRead.accept(chunk.size());
                    return chunk;
                });
        if (file.gzip()) {
            bytes = bytes.via(Compression.gunzip(READ_CHUNK));
        }
        return bytes
                .statefulMap(() -> framer(file, settings),
                        (framer, chunk) -> Pair.create(framer, framer.accept(chunk)),
                        framer -> Optional.of(framer.finish()))
                .mapConcat(documents -> documents)
                // A binary file yields one SkippedInput; stop reading it there.
                .takeWhile(item -> !(item instanceof SkippedInput s
                        && s.reason() == SkippedInput.Reason.BINARY_FILE), true)
                .recover(new PFBuilder<Throwable, Ingested>()
                        .match(Exception.class, e -> new SkippedInput(file, 0,
                                SkippedInput.Reason.UNREADABLE_FILE, oneLine(e)))
                        .build())
                .mapMaterializedValue(ignored -> NotUsed.getInstance());
    }

    private static Framer framer(InputFile file, ReadSettings settings) {
        return file.format() == InputFile.Format.JSONL
                ? new LineFramer(file, settings.maxJsonlLineBytes())
                : new TextChunker(file, settings.textDocumentBytes());
    }

    private static String oneLine(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String message = root.getMessage() == null ? root.getClass().getSimpleName() : root.getMessage();
        return message.replaceAll("\\s*\\R\\s*", " ");
    }
}
