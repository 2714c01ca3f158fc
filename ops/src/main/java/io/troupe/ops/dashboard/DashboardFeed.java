package io.troupe.ops.dashboard;

/**
 * What a dashboard's event stream sends: per stream a cursor that remembers what its client
 * already has, and for each tick the next message, the whole state first and then what changed.
 *
 * @param <C> the cursor type, one per open stream
 */
public interface DashboardFeed<C> {

    /** A cursor for a new stream, which has nothing yet (so its first message is whole). */
    C cursor();

    /** The next message (one JSON object) for the stream at {@code cursor}; moves the cursor. */
    String next(C cursor);
}
