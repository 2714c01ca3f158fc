package io.troupe.worker.allreduce;

import java.nio.FloatBuffer;
import java.util.concurrent.CompletableFuture;

/**
 * One all-reduce call, as handed to the ring stage.
 *
 * @param buffer the floats to reduce, index 0 = the caller's position
 * @param stepId the step this call belongs to; every peer must pass the same one
 * @param deadlineNanos {@link System#nanoTime()} by which the call must be done
 * @param done completed by the stage when the buffer holds the mean, or failed
 */
record StepRequest(FloatBuffer buffer, long stepId, long deadlineNanos, CompletableFuture<Void> done) {}
