package io.troupe.ops.serve;

import io.troupe.ops.inference.BatchScheduler;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The generations one HTTP connection is waiting for. When the connection ends before their
 * answers (the client went away), {@link #close} cancels them, so their batch slots return; a
 * streamed answer notices a disconnect through its own entity stream, a whole one only here.
 */
final class ClientConnection {
    private final Set<BatchScheduler.Generation> pending = new HashSet<>();
    private boolean closed;

    /** Tracks {@code generation} until {@link #done}; cancels it at once when the connection already ended. */
    void waitingFor(BatchScheduler.Generation generation) {
        synchronized (this) {
            if (!closed) {
                pending.add(generation);
                return;
            }
        }
        generation.cancel();
    }

    /** The generation's answer is out (or abandoned): nothing to cancel for it any more. */
    synchronized void done(BatchScheduler.Generation generation) {
        pending.remove(generation);
    }

    /** The connection ended: cancels every generation still waiting for it. */
    void close() {
        List<BatchScheduler.Generation> abandoned;
        synchronized (this) {
            closed = true;
            abandoned = List.copyOf(pending);
            pending.clear();
        }
        abandoned.forEach(BatchScheduler.Generation::cancel);
    }
}
