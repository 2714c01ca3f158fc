package io.troupe.worker.allreduce;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.Objects;
import org.apache.pekko.util.ByteString;

/**
 * Who may connect to a ring member's port: the holder of this ring generation's secret token.
 * The coordinator draws a fresh random token for every ring it forms and gives it only to that
 * ring's members (over Artery, in {@code FormRing}); each member opens the connection to its
 * successor with a preamble of the generation and the token. A connection whose preamble is
 * wrong, too long or incomplete is dropped by itself: it can neither take the predecessor's
 * place nor disturb the ring (the port race of issue 16). Once admitted, the ring's handshake
 * still checks the sender's rank, world size and settings and fails loudly on a mismatch.
 *
 * @param generation the ring generation the token belongs to
 * @param token the secret, as hex; empty only for an {@link #open()} ring (tests, benchmarks)
 */
public record RingAdmission(long generation, String token) {
    private static final int MAGIC = 0x54524144; // "TRAD"
    /** Magic, generation and the token's length, before the token bytes. */
    static final int HEADER_BYTES = 4 + 8 + 2;
    /** The longest token accepted: a declared length above it is refused before anything is buffered. */
    static final int MAX_TOKEN_BYTES = 128;
    private static final SecureRandom RANDOM = new SecureRandom();

    public RingAdmission {
        Objects.requireNonNull(token, "token");
        if (token.getBytes(StandardCharsets.UTF_8).length > MAX_TOKEN_BYTES) {
            throw new IllegalArgumentException("a ring token is at most " + MAX_TOKEN_BYTES + " bytes");
        }
    }

    /** A fresh 128-bit random token for ring {@code generation}. */
    public static RingAdmission issue(long generation) {
        byte[] secret = new byte[16];
        RANDOM.nextBytes(secret);
        return new RingAdmission(generation, HexFormat.of().formatHex(secret));
    }

    /** A ring without a secret (in-process tests and benchmarks): any preamble of generation 0 with no token. */
    public static RingAdmission open() {
        return new RingAdmission(0, "");
    }

    /** How many bytes a valid preamble has. */
    int preambleBytes() {
        return HEADER_BYTES + token.getBytes(StandardCharsets.UTF_8).length;
    }

    /** What a member sends first on the connection to its successor. */
    public ByteString preamble() {
        byte[] secret = token.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(HEADER_BYTES + secret.length).order(ByteOrder.BIG_ENDIAN);
        b.putInt(MAGIC).putLong(generation).putShort((short) secret.length).put(secret);
        return ByteString.fromArray(b.array());
    }

    /**
     * Checks the first {@link #preambleBytes()} bytes a connection sent. The declared token length
     * is compared with the expected one before the token is read; the token is compared in
     * constant time.
     *
     * @return null when admitted, else why not (for this member's log only, never sent back)
     */
    String refusal(ByteString first) {
        if (first.size() < HEADER_BYTES) {
            return "a preamble of " + first.size() + " bytes";
        }
        ByteBuffer b = first.asByteBuffer().order(ByteOrder.BIG_ENDIAN);
        if (b.getInt() != MAGIC) {
            return "not a ring peer (bad magic)";
        }
        long claimed = b.getLong();
        int length = Short.toUnsignedInt(b.getShort());
        byte[] expected = token.getBytes(StandardCharsets.UTF_8);
        if (length != expected.length || first.size() != HEADER_BYTES + length) {
            return "a token of " + length + " bytes";
        }
        byte[] presented = new byte[length];
        b.get(presented);
        boolean tokenOk = MessageDigest.isEqual(presented, expected);
        if (claimed != generation || !tokenOk) {
            return "the wrong generation or token";
        }
        return null;
    }
}
