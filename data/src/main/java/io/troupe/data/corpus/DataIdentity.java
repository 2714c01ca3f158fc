package io.troupe.data.corpus;

import io.troupe.data.DataException;
import java.util.Objects;

/**
 * Which data a run trains on, as a summary, a job file and a worker's check name it.
 *
 * <p>The hash is what makes two copies the same data: for a text file it is the SHA-256 of the
 * file's bytes; for a prepared dataset it is the SHA-256 of its {@code manifest.json}, which in
 * turn holds every shard's SHA-256 (checked when the dataset is opened), so one hash covers all
 * shards without reading them again.
 *
 * @param path the path as the user gave it (relative paths stay relative)
 * @param kind what lies at the path
 * @param sha256 the content hash, 64 lower-case hex digits
 */
public record DataIdentity(String path, DataKind kind, String sha256) {

    /** Checks the components. */
    public DataIdentity {
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(kind, "kind");
        if (sha256 == null || sha256.length() != 64) {
            throw new IllegalArgumentException("sha256 must be 64 hex digits, got " + sha256);
        }
    }

    /**
     * Refuses data whose content differs from the one another node (or an earlier run) used.
     *
     * @param expectedSha256 the hash the other side computed
     * @param whose names the other side in the message, e.g. "the coordinator's"
     * @throws DataException naming both hashes and the fix
     */
    public void requireSha256(String expectedSha256, String whose) throws DataException {
        if (!sha256.equals(expectedSha256)) {
            throw new DataException("the " + kind.label() + " at " + path + " differs from " + whose + " (sha256 "
                    + sha256 + " vs " + expectedSha256 + "); give every node the same " + kind.label());
        }
    }
}
