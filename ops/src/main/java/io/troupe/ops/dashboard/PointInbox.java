package io.troupe.ops.dashboard;

import java.util.ArrayList;
import java.util.List;

/**
 * Points handed from the training thread to whoever builds the next dashboard message. Its lock
 * guards one list append or one list swap, never a JSON build or a file read, so the training
 * thread waits at most for a swap however big the message being built is.
 */
final class PointInbox {
    private final int drainAt;
    private List<double[]> points = new ArrayList<>();

    /** @param drainAt the size at which {@link #add} asks its caller to empty the inbox (no reader is keeping up) */
    PointInbox(int drainAt) {
        this.drainAt = drainAt;
    }

    /** Hands over a point; true when the inbox holds {@code drainAt} points and should be emptied now. */
    synchronized boolean add(double[] point) {
        points.add(point);
        return points.size() >= drainAt;
    }

    /** The points handed over since the last call, oldest first; the inbox is empty afterwards. */
    synchronized List<double[]> take() {
        if (points.isEmpty()) {
            return List.of();
        }
        List<double[]> taken = points;
        points = new ArrayList<>();
        return taken;
    }
}
