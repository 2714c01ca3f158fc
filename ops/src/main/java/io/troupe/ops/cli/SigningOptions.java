package io.troupe.ops.cli;

import io.troupe.worker.checkpoint.CheckpointKey;
import io.troupe.worker.checkpoint.CheckpointSigning;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/**
 * {@code --sign-key FILE}: the cluster's HMAC key, with which this process signs every checkpoint
 * it writes and verifies every one it reads ({@link CheckpointSigning}).
 */
final class SigningOptions {

    @Option(names = "--sign-key", paramLabel = "FILE",
            description = "Sign checkpoints with this HMAC-SHA256 key (hex text, as 'troupe secret init' writes to"
                    + " DIR/hmac.key) and refuse unsigned or forged ones (default: unsigned).")
    private Path signKey;

    /** The {@code --sign-key} file, or null. */
    Path file() {
        return signKey;
    }

    /**
     * Installs the key of {@code --sign-key}, else of {@code fallback} (may be null), as the
     * process's checkpoint key; with neither, checkpoints stay unsigned.
     *
     * @param announce whether to say once (in the log) whether checkpoints are signed
     */
    void install(Path fallback, boolean announce) {
        Path file = signKey != null ? signKey : fallback;
        // Always set, so that a command run in the same JVM after one with a key has none.
        CheckpointSigning.install(file == null ? null : CheckpointKey.read(file));
        if (announce) {
            CheckpointSigning.announce();
        }
    }
}
