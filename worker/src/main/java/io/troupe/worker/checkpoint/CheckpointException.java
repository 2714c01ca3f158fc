package io.troupe.worker.checkpoint;

import io.troupe.errors.TroupeException;

/**
 * A checkpoint that cannot be written, read or used: missing, truncated, corrupt, from another
 * format version, or written with a different config.
 *
 * <p>The one exception of the checkpoint boundary. Its message is one line naming the file, the
 * problem and what to do, so a command line can print it as is. A checkpoint that cannot be used
 * is {@link Kind#INPUT_DATA}; a directory that cannot be listed, read or written is {@link Kind#IO}.
 */
public final class CheckpointException extends TroupeException {

    private static final long serialVersionUID = 1L;

    /** An unusable checkpoint; the message names the file, the problem and the fix. */
    public CheckpointException(String message) {
        super(Kind.INPUT_DATA, message);
    }

    /** An unusable checkpoint; the message names the file, the problem and the fix. */
    public CheckpointException(String message, Throwable cause) {
        super(Kind.INPUT_DATA, message, cause);
    }

    /** A checkpoint failure of {@code kind} (e.g. {@link Kind#IO} for a full disk). */
    public CheckpointException(Kind kind, String message, Throwable cause) {
        super(kind, message, cause);
    }
}
