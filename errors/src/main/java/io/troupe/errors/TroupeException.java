package io.troupe.errors;

/**
 * The root of every failure Troupe raises on purpose, with the {@link Kind} of mistake behind it.
 *
 * <p>The message is written for the person running Troupe: one line that names what is wrong
 * (the file, flag, setting or peer) and what to do about it, so a command line can print it as
 * is. The kind says whose mistake it is; the CLI turns it into the exit code (2 for
 * {@link Kind#USAGE}, 1 for the rest) and decides whether the failure is a bug.
 *
 * <p>Unchecked on purpose. Half of Troupe's failures were unchecked already (settings, graphs,
 * the cluster, studies), and the checked half mostly travel through lambdas, futures and actor
 * messages, where a checked exception is wrapped and unwrapped anyway. Methods keep their
 * {@code throws} clauses for the specific subclasses as documentation of what they raise.
 */
public abstract class TroupeException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /** Whose mistake a failure is, which decides how it is reported and the exit code. */
    public enum Kind {
        /**
         * The command line alone is wrong, whatever the files say: an unknown flag, a nonsense
         * value, options that contradict each other.
         */
        USAGE,
        /**
         * A file or directory the command was given (corpus, dataset, tokenizer, checkpoint, model
         * or run directory) is missing, corrupt, or not in the state the command needs.
         */
        INPUT_DATA,
        /**
         * A setting (preset, search space, prepare or training settings) is unknown, malformed, out
         * of range or cannot train. The CLI reports a setting it read from its own command line as
         * {@link #USAGE}.
         */
        CONFIG,
        /** A peer, the ring, the coordinator or the cluster failed, or they disagree about the job. */
        CLUSTER,
        /** Reading or writing outside the input itself failed: an output directory, a port, a store. */
        IO,
        /** A bug in Troupe: something it should never do. */
        INTERNAL
    }

    private final Kind kind;

    /** A failure of {@code kind} whose message names the problem and the fix. */
    protected TroupeException(Kind kind, String message) {
        this(kind, message, null);
    }

    /** A failure of {@code kind} whose message names the problem and the fix, caused by {@code cause}. */
    protected TroupeException(Kind kind, String message, Throwable cause) {
        super(message, cause);
        if (kind == null) {
            throw new IllegalArgumentException("a TroupeException needs a kind");
        }
        this.kind = kind;
    }

    /** Whose mistake this is. */
    public final Kind kind() {
        return kind;
    }
}
