package io.troupe.ops.serve;

import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.NotUsed;
import org.apache.pekko.stream.BoundedSourceQueue;
import org.apache.pekko.stream.QueueOfferResult;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;

/**
 * Hands one streamed response's chunks from the batch scheduler's thread to the HTTP
 * connection that sends them.
 *
 * <p>Why not a pre-materialized queue: {@code Source.queue(..).preMaterialize(system)} runs the
 * queue in a stream of its own, joined to the connection's stream by a reactive-streams
 * publisher, so every chunk crossed two actors (and their demand messages) before the TCP
 * actor. The {@link #source()} here is materialized by pekko-http inside the connection's own
 * stream, so a chunk wakes one actor. The price is that chunks can arrive before the response
 * is materialized: those wait in a list (bounded like the queue) and go in first.
 *
 * <p>Thread-safe: {@link #offer} and {@link #complete} are called by the scheduler, attaching
 * and termination by pekko's threads.
 */
final class ChunkRelay {
    private final int capacity;
    private final Runnable onGone;
    private final List<ByteString> early = new ArrayList<>();
    private BoundedSourceQueue<ByteString> queue; // null until materialized
    private boolean completed;
    private boolean gone;

    /**
     * @param capacity the most chunks that may wait unsent (before and after materialization)
     * @param onGone called once when the response stream ends before {@link #complete}: the
     *     client went away, or stopped reading until {@code capacity} chunks piled up
     */
    ChunkRelay(int capacity, Runnable onGone) {
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity must be >= 1, got " + capacity);
        }
        this.capacity = capacity;
        this.onGone = onGone;
    }

    /** The response's body; it may be materialized once. */
    Source<ByteString, NotUsed> source() {
        return Source.<ByteString>queue(capacity).watchTermination((queue, done) -> {
            attach(queue);
            done.whenCompleteAsync((ok, failure) -> ended(), OpenAiServer.ON_COMPLETING_THREAD);
            return NotUsed.notUsed();
        });
    }

    /**
     * Queues a chunk; false when it cannot be sent (the client is gone or not reading), after
     * which {@code onGone} has been or is about to be called.
     */
    boolean offer(ByteString chunk) {
        boolean dropped;
        synchronized (this) {
            if (gone || completed) {
                return false;
            }
            if (queue == null) {
                dropped = early.size() >= capacity;
                if (!dropped) {
                    early.add(chunk);
                    return true;
                }
            } else {
                QueueOfferResult result = queue.offer(chunk);
                dropped = !(result instanceof QueueOfferResult.Enqueued$);
                if (!dropped) {
                    return true;
                }
            }
        }
        ended();
        return false;
    }

    /** Ends the body after the chunks offered so far. */
    void complete() {
        synchronized (this) {
            if (completed) {
                return;
            }
            completed = true;
            if (queue == null) {
                return; // attach() completes it after the early chunks
            }
        }
        completeQuietly(queue); // also when the client stopped reading: its stream must still end
    }

    private void attach(BoundedSourceQueue<ByteString> materialized) {
        boolean completeNow;
        synchronized (this) {
            if (queue != null) {
                // A second materialization of the same body: nothing to send to it.
                completeQuietly(materialized);
                return;
            }
            queue = materialized;
            for (ByteString chunk : early) {
                materialized.offer(chunk); // fits: early never holds more than the queue's capacity
            }
            early.clear();
            completeNow = completed;
        }
        if (completeNow) {
            completeQuietly(materialized);
        }
    }

    /** The stream ended (sent everything, or cancelled by the client); reports an early end once. */
    private void ended() {
        boolean beforeComplete;
        synchronized (this) {
            if (gone) {
                return;
            }
            gone = true;
            beforeComplete = !completed;
        }
        if (beforeComplete) {
            onGone.run();
        }
    }

    private static void completeQuietly(BoundedSourceQueue<ByteString> q) {
        try {
            q.complete();
        } catch (IllegalStateException alreadyEnded) {
            // The client cancelled the stream first: nothing left to end.
        }
    }
}
