package io.troupe.worker.checkpoint;

import java.nio.file.Path;
import java.util.Objects;

/**
 * Where encoded checkpoint bytes come from, as the decoder's errors name it, and what the reader
 * should do about each way they can be unusable. A file and a peer's stream fail the same ways
 * but call for different fixes (delete the file; fetch again from another peer).
 *
 * @param name the source as a message's subject, e.g. {@code "checkpoint /run/ckpt-10.bin"} or
 *     {@code "the state from 10.0.0.7:2553"}
 * @param ifCorrupt what to do when the bytes are truncated or fail their checksum
 * @param ifForeign what to do when the bytes are not a Troupe checkpoint at all
 * @param ifOtherVersion what to do when they are of another format version
 */
public record CheckpointOrigin(String name, String ifCorrupt, String ifForeign,
        String ifOtherVersion) {

    /** Requires every part. */
    public CheckpointOrigin {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(ifCorrupt, "ifCorrupt");
        Objects.requireNonNull(ifForeign, "ifForeign");
        Objects.requireNonNull(ifOtherVersion, "ifOtherVersion");
    }

    /** A checkpoint file in a run's checkpoints directory. */
    static CheckpointOrigin file(Path file) {
        return new CheckpointOrigin("checkpoint " + file, "delete it or resume from an earlier one",
                "move it out of the checkpoints directory",
                "resume it with the Troupe version that wrote it");
    }

    /** What to do about an unsigned checkpoint where signed ones are required. */
    String ifUnsigned() {
        return "read it in a process without --sign-key/--tls, or start a new run with the key";
    }

    /** What to do about a checkpoint whose signature does not match the cluster key. */
    String ifForged() {
        return "check which --sign-key/--tls directory wrote it, or " + ifCorrupt;
    }

    CheckpointException corrupt(String why, Throwable cause) {
        return new CheckpointException(name + " is truncated or corrupt (" + why + "); "
                + ifCorrupt, cause);
    }
}
