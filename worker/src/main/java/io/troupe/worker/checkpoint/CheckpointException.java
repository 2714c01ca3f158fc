package io.troupe.worker.checkpoint;

/**
 * A checkpoint that cannot be written, read or used: missing, truncated, corrupt, from another
 * format version, or written with a different config.
 *
 * <p>The one checked exception of the checkpoint boundary. Its message is one line naming the
 * file, the problem and what to do, so a command line can print it as is.
 */
public final class CheckpointException extends Exception {

    /** Creates an exception whose message names the file, the problem and the fix. */
    public CheckpointException(String message) {
        super(message);
    }

    /** Creates an exception whose message names the file, the problem and the fix. */
    public CheckpointException(String message, Throwable cause) {
        super(message, cause);
    }
}
