package io.troupe.worker.session;

import io.troupe.worker.engine.Device;

/**
 * How a worker runs: ORT intra-op threads and device, the Troupe version it announces (a
 * coordinator refuses workers of another version), and whether it offers itself as a standby
 * (a hot spare that takes a ring seat only when no regular worker can).
 */
public record WorkerSettings(int threads, Device device, String version, boolean standby) {

    /** A regular (not standby) worker. */
    public WorkerSettings(int threads, Device device, String version) {
        this(threads, device, version, false);
    }

    public WorkerSettings {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        }
    }
}
