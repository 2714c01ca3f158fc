package io.troupe.worker.transfer;

import java.io.EOFException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.pekko.stream.javadsl.SinkQueueWithCancel;
import org.apache.pekko.util.ByteString;

/**
 * The bytes a state server sends, as a blocking channel with a deadline, so that the checkpoint
 * decoder reads them as they arrive (one received buffer at a time, never the whole state) and
 * no read waits past the fetch's deadline.
 *
 * <p>Reads throw {@link DeadlinePassed} at the deadline and {@link StreamFailed} when the
 * connection fails; the end of the stream is the usual -1.
 */
final class ResponseChannel implements ReadableByteChannel {

    /** The deadline passed before the next bytes arrived. */
    static final class DeadlinePassed extends IOException {
        private static final long serialVersionUID = 1L;

        DeadlinePassed() {
            super("deadline passed");
        }
    }

    /** The connection failed (refused, reset, aborted); the cause is Pekko's error. */
    static final class StreamFailed extends IOException {
        private static final long serialVersionUID = 1L;

        StreamFailed(Throwable cause) {
            super(cause);
        }
    }

    private static final ByteBuffer EMPTY = ByteBuffer.allocate(0);

    private final SinkQueueWithCancel<ByteString> queue;
    private final long deadlineNanos;
    private ByteBuffer current = EMPTY;
    private long received;
    private boolean ended;

    ResponseChannel(SinkQueueWithCancel<ByteString> queue, long deadlineNanos) {
        this.queue = queue;
        this.deadlineNanos = deadlineNanos;
    }

    @Override
    public int read(ByteBuffer into) throws IOException {
        while (!current.hasRemaining()) {
            if (ended) {
                return -1;
            }
            Optional<ByteString> next = pull();
            if (next.isEmpty()) {
                ended = true;
                return -1;
            }
            // Pekko's TCP reads arrive as compact ByteStrings: this is a view, not a copy.
            current = next.get().asByteBuffer();
        }
        int count = Math.min(into.remaining(), current.remaining());
        into.put(current.slice(current.position(), count));
        current.position(current.position() + count);
        received += count;
        return count;
    }

    /** Reads exactly {@code into.remaining()} bytes, or throws {@link EOFException}. */
    void readFully(ByteBuffer into) throws IOException {
        while (into.hasRemaining()) {
            if (read(into) < 0) {
                throw new EOFException("the connection ended");
            }
        }
    }

    /** Bytes handed out so far. */
    long received() {
        return received;
    }

    private Optional<ByteString> pull() throws IOException {
        long left = deadlineNanos - System.nanoTime();
        if (left <= 0) {
            throw new DeadlinePassed();
        }
        try {
            return queue.pull().toCompletableFuture().get(left, TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            throw new DeadlinePassed();
        } catch (ExecutionException e) {
            throw new StreamFailed(e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while waiting for the state server");
        }
    }

    @Override
    public boolean isOpen() {
        return !ended;
    }

    /** Cancels the stream, which closes the connection's reading side. */
    @Override
    public void close() {
        ended = true;
        queue.cancel();
    }
}
