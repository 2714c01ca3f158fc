package io.troupe.worker.session;

import io.troupe.worker.engine.Device;

/**
 * How a worker runs: ORT intra-op threads and device, and the Troupe version it announces
 * (a coordinator refuses workers of another version).
 */
public record WorkerSettings(int threads, Device device, String version) {
    public WorkerSettings {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        }
    }
}
