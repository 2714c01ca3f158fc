package io.troupe.data.prepare;

import io.troupe.data.shard.Split;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * Puts each document in train or val by a hash of its identity and the seed: SHA-256 of
 * {@code "<seed>\0<document id>"}, read as a fraction in [0, 1), goes to val below
 * {@code valFraction}. The choice depends on nothing but the document itself, so adding or
 * removing other files never moves a document between splits, and any tool can recompute it.
 */
final class SplitAssigner {

    private final double valFraction;
    private final String prefix;

    SplitAssigner(double valFraction, long seed) {
        this.valFraction = valFraction;
        this.prefix = seed + "\0";
    }

    Split assign(String documentId) {
        return fraction(documentId) < valFraction ? Split.VAL : Split.TRAIN;
    }

    /** The document's position in [0, 1). */
    double fraction(String documentId) {
        MessageDigest sha;
        try {
            sha = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JVM has SHA-256", e);
        }
        byte[] digest = sha.digest((prefix + documentId).getBytes(StandardCharsets.UTF_8));
        long top = ByteBuffer.wrap(digest).getLong() >>> 11; // 53 bits: exact in a double
        return top / (double) (1L << 53);
    }
}
