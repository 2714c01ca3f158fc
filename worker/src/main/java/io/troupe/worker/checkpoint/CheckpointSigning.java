package io.troupe.worker.checkpoint;

import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The process's checkpoint key, if it has one. A command installs it once at start (from
 * {@code --sign-key FILE} or {@code --tls DIR}); from then on every checkpoint this process
 * writes is signed, and every one it reads must be signed with the same key.
 *
 * <p>A process-wide setting rather than a parameter: checkpoints are written and read in a dozen
 * places (local runs, workers, the state transfer, export, generate), and a key that reached some
 * of them but not others would leave a hole. Without a key checkpoints are neither signed nor
 * checked; {@link #announce} says so once.
 */
public final class CheckpointSigning {

    private static final Logger LOG = LoggerFactory.getLogger(CheckpointSigning.class);
    private static volatile CheckpointKey installed;
    private static final AtomicBoolean ANNOUNCED = new AtomicBoolean();

    private CheckpointSigning() {
    }

    /** Makes {@code key} the process's checkpoint key; null removes it. */
    public static void install(CheckpointKey key) {
        installed = key;
    }

    /** The process's checkpoint key, or empty if checkpoints are unsigned. */
    public static Optional<CheckpointKey> key() {
        return Optional.ofNullable(installed);
    }

    /**
     * Logs once per process whether checkpoints are signed: without a key, a warning that they
     * are not and how to sign them.
     */
    public static void announce() {
        if (!ANNOUNCED.compareAndSet(false, true)) {
            return;
        }
        if (installed == null) {
            LOG.warn("checkpoints are unsigned: anyone who can write the run directory can alter the"
                    + " model; give --sign-key FILE (or --tls DIR) to sign and verify them");
        } else {
            LOG.info("checkpoints are signed and verified with HMAC-SHA256 under the cluster key");
        }
    }
}
