package io.troupe.ops.serve.monitor;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * An append-only JSONL file of feedback records, {@code DIR/feedback.jsonl}: each record is one
 * line, written whole and fsynced before {@link #append} returns, so an acknowledged record
 * survives a crash. Bounded: when a record would take the file past {@code maxBytes}, the file is
 * renamed {@code feedback.jsonl.1} (older ones shift to {@code .2} ... and the oldest beyond
 * {@code keep} is deleted) and a new file begins. A failed write (a read-only or full disk) is
 * reported to the caller and kept as {@link #lastError()} until a write succeeds; the server
 * goes on serving. Thread-safe.
 */
final class FeedbackStore implements AutoCloseable {
    /** The current file's name. */
    static final String FILE_NAME = "feedback.jsonl";

    private final Path dir;
    private final Path file;
    private final long maxBytes;
    private final int keep;
    private FileChannel channel;
    private volatile String lastError;

    FeedbackStore(Path dir, long maxBytes, int keep) {
        this.dir = dir;
        this.file = dir.resolve(FILE_NAME);
        this.maxBytes = maxBytes;
        this.keep = keep;
    }

    /** The current file. */
    Path file() {
        return file;
    }

    /** Opens the file now, so that a store that cannot be written is known before the first record; the error or null. */
    synchronized String check() {
        try {
            open();
            lastError = null;
        } catch (IOException e) {
            lastError = describe(e);
        }
        return lastError;
    }

    /**
     * Appends one line and fsyncs it.
     *
     * @throws IOException when it cannot be written; the message names the file and the cause
     */
    synchronized void append(String line) throws IOException {
        byte[] bytes = (line + "\n").getBytes(StandardCharsets.UTF_8);
        try {
            open();
            if (channel.size() > 0 && channel.size() + bytes.length > maxBytes) {
                rotate();
                open();
            }
            ByteBuffer buffer = ByteBuffer.wrap(bytes);
            while (buffer.hasRemaining()) {
                channel.write(buffer);
            }
            channel.force(false);
            lastError = null;
        } catch (IOException e) {
            closeChannel();
            lastError = describe(e);
            throw new IOException(lastError, e);
        }
    }

    /** Why the last write failed, or null when it succeeded. */
    String lastError() {
        return lastError;
    }

    private String describe(IOException e) {
        String why = e.getMessage() == null ? e.getClass().getSimpleName() : e.getClass().getSimpleName() + ": "
                + e.getMessage();
        return "cannot write the feedback store " + file + " (" + why + "); give --feedback-dir a writable directory";
    }

    private void open() throws IOException {
        if (channel == null) {
            Files.createDirectories(dir);
            channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.APPEND);
        }
    }

    /** feedback.jsonl becomes .1, .1 becomes .2, ...; the one past {@code keep} goes. */
    private void rotate() throws IOException {
        closeChannel();
        Files.deleteIfExists(dir.resolve(FILE_NAME + "." + keep));
        for (int i = keep - 1; i >= 1; i--) {
            Path older = dir.resolve(FILE_NAME + "." + i);
            if (Files.exists(older)) {
                Files.move(older, dir.resolve(FILE_NAME + "." + (i + 1)), StandardCopyOption.ATOMIC_MOVE);
            }
        }
        if (keep >= 1) {
            Files.move(file, dir.resolve(FILE_NAME + ".1"), StandardCopyOption.ATOMIC_MOVE);
        } else {
            Files.delete(file);
        }
        io.troupe.data.io.AtomicFiles.fsyncDirectory(dir);
    }

    private void closeChannel() {
        if (channel != null) {
            try {
                channel.close();
            } catch (IOException ignored) {
                // Already failing, or rotating: the data written was forced already.
            }
            channel = null;
        }
    }

    @Override
    public synchronized void close() {
        closeChannel();
    }
}
