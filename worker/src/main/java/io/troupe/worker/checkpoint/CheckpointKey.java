package io.troupe.worker.checkpoint;

import io.troupe.errors.TroupeException.Kind;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.util.HexFormat;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The cluster's secret for signing checkpoints: an HMAC-SHA256 key of at least 32 bytes, kept
 * in a file as hexadecimal text ({@code troupe secret init} writes one as {@code hmac.key}).
 * The key bytes never leave this object; {@link #newMac()} hands out a keyed MAC.
 */
public final class CheckpointKey {

    /** The MAC algorithm, by its JCA name. */
    public static final String ALGORITHM = "HmacSHA256";
    /** Bytes of one signature. */
    public static final int SIGNATURE_BYTES = 32;
    /** The shortest key accepted: as long as the hash's output, as RFC 2104 advises. */
    public static final int MIN_KEY_BYTES = 32;

    private final SecretKeySpec key;

    private CheckpointKey(byte[] key) {
        if (key.length < MIN_KEY_BYTES) {
            throw new IllegalArgumentException("a checkpoint key needs at least " + MIN_KEY_BYTES
                    + " bytes, got " + key.length);
        }
        this.key = new SecretKeySpec(key, ALGORITHM);
    }

    /** A key of the given bytes (at least {@value #MIN_KEY_BYTES}). */
    public static CheckpointKey of(byte[] key) {
        return new CheckpointKey(key.clone());
    }

    /**
     * Reads a key file: hexadecimal text, surrounding whitespace ignored.
     *
     * @throws CheckpointException (CONFIG) if the file is missing, unreadable, not hexadecimal or
     *     too short; the message names the file and how to make a good one
     */
    public static CheckpointKey read(Path file) {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.US_ASCII).strip();
        } catch (NoSuchFileException e) {
            throw new CheckpointException(Kind.CONFIG, "checkpoint key file " + file + " does not exist;"
                    + " create one with 'troupe secret init DIR' (DIR/hmac.key)", e);
        } catch (IOException e) {
            throw new CheckpointException(Kind.CONFIG, "cannot read checkpoint key file " + file + ": " + e
                    + "; check its permissions", e);
        }
        byte[] bytes;
        try {
            bytes = HexFormat.of().parseHex(text);
        } catch (IllegalArgumentException e) {
            throw new CheckpointException(Kind.CONFIG, "checkpoint key file " + file + " is not hexadecimal"
                    + " text; create one with 'troupe secret init DIR' (DIR/hmac.key)", e);
        }
        if (bytes.length < MIN_KEY_BYTES) {
            throw new CheckpointException(Kind.CONFIG, "checkpoint key file " + file + " holds " + bytes.length
                    + " bytes, fewer than the " + MIN_KEY_BYTES + " a key needs; create one with"
                    + " 'troupe secret init DIR' (DIR/hmac.key)", null);
        }
        return new CheckpointKey(bytes);
    }

    /** A fresh MAC keyed with this key. */
    public Mac newMac() {
        try {
            Mac mac = Mac.getInstance(ALGORITHM);
            mac.init(key);
            return mac;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("every Java 17 runtime provides " + ALGORITHM, e);
        }
    }

    @Override
    public String toString() {
        return "CheckpointKey[" + ALGORITHM + ", hidden]";
    }
}
