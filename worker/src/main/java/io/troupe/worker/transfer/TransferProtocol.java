package io.troupe.worker.transfer;

import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import org.apache.pekko.util.ByteString;

/**
 * The state-transfer wire format: one request from the client, one answer from the server, then
 * the server closes the connection. All numbers little-endian, like the checkpoint format.
 *
 * <pre>
 * request (client to server)
 *   0  length            int32  bytes after this field: 18 + K + J
 *   4  magic "TRST"      int32
 *   8  version           uint8  ({@link #VERSION})
 *   9  reserved          3 bytes (0)
 *  12  wanted step       int64  training step asked for; -1 = whichever is offered
 *  20  token length      uint16 K &lt;= {@value #MAX_TOKEN_BYTES}
 *  22  token             K bytes of UTF-8: the ring generation's state token (see StateOffer)
 *  22+K job id           J bytes of UTF-8, J &lt;= {@value #MAX_JOB_ID_BYTES}
 *
 * answer header (server to client, {@value #ANSWER_HEADER_BYTES} bytes)
 *   0  magic "TRST"      int32
 *   4  version           uint8
 *   5  status            uint8  0 = ok, else a {@link StateRefusedException.Reason} code
 *   6  reserved          2 bytes (0)
 *   8  offered step      int64  training step of the server's state; -1 if it has none
 *  16  length            int64  ok: bytes of the encoded checkpoint that follow;
 *                               refused: bytes of the UTF-8 reason that follow
 * </pre>
 *
 * The payload of an ok answer is a whole checkpoint file's bytes (CRC32C trailer included), so
 * the client verifies it with the checkpoint decoder as it arrives.
 */
final class TransferProtocol {

    static final int MAGIC = 'T' | 'R' << 8 | 'S' << 16 | 'T' << 24;
    /** Bumped when the layout changes; a server refuses requests of another version. 2: the state token. */
    static final int VERSION = 2;
    static final int LENGTH_PREFIX_BYTES = Integer.BYTES;
    /** Request bytes after the length prefix, before the token. */
    static final int REQUEST_FIXED_BYTES = 18;
    static final int MAX_JOB_ID_BYTES = 1024;
    /** The longest state token; a longer declared length is a bad request. */
    static final int MAX_TOKEN_BYTES = 128;
    /** The largest request frame, length prefix included. */
    static final int MAX_REQUEST_BYTES = LENGTH_PREFIX_BYTES + REQUEST_FIXED_BYTES + MAX_TOKEN_BYTES
            + MAX_JOB_ID_BYTES;
    static final int ANSWER_HEADER_BYTES = 24;
    static final int STATUS_OK = 0;
    /** The longest refusal reason; a longer one is cut. */
    static final int MAX_REASON_BYTES = 4096;

    private TransferProtocol() {
    }

    /** A client's request; {@code token} is the raw bytes presented (compared in constant time). */
    record Request(String jobId, long step, byte[] token) {
    }

    /** The fixed part of the server's answer. */
    record AnswerHeader(int status, long offeredStep, long length) {
    }

    /**
     * The request frame for {@code jobId} and {@code step}, presenting {@code token}.
     *
     * @throws IllegalArgumentException if the job id is empty or longer than
     *     {@value #MAX_JOB_ID_BYTES} bytes of UTF-8, or the token longer than
     *     {@value #MAX_TOKEN_BYTES}
     */
    static ByteString request(String jobId, long step, String token) {
        byte[] id = jobId.getBytes(StandardCharsets.UTF_8);
        if (id.length == 0 || id.length > MAX_JOB_ID_BYTES) {
            throw new IllegalArgumentException("a job id must have 1 to " + MAX_JOB_ID_BYTES
                    + " bytes of UTF-8, got " + id.length);
        }
        byte[] secret = tokenBytes(token);
        ByteBuffer out = ByteBuffer.allocate(LENGTH_PREFIX_BYTES + REQUEST_FIXED_BYTES + secret.length
                + id.length).order(ByteOrder.LITTLE_ENDIAN);
        out.putInt(REQUEST_FIXED_BYTES + secret.length + id.length).putInt(MAGIC).put((byte) VERSION)
                .put(new byte[3]).putLong(step).putShort((short) secret.length).put(secret).put(id);
        return ByteString.fromArrayUnsafe(out.array());
    }

    /**
     * A state token's bytes.
     *
     * @throws IllegalArgumentException if it is longer than {@value #MAX_TOKEN_BYTES} bytes of UTF-8
     */
    static byte[] tokenBytes(String token) {
        byte[] secret = java.util.Objects.requireNonNull(token, "token").getBytes(StandardCharsets.UTF_8);
        if (secret.length > MAX_TOKEN_BYTES) {
            throw new IllegalArgumentException("a state token has at most " + MAX_TOKEN_BYTES
                    + " bytes, got " + secret.length);
        }
        return secret;
    }

    /**
     * Parses a whole request frame (length prefix included).
     *
     * @throws IllegalArgumentException with a one-line reason, if it is not a request this
     *     version understands
     */
    static Request parseRequest(ByteString frame) {
        ByteBuffer in = frame.asByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        if (in.remaining() < LENGTH_PREFIX_BYTES + REQUEST_FIXED_BYTES
                || in.getInt(LENGTH_PREFIX_BYTES) != MAGIC) {
            throw new IllegalArgumentException("the request is not a Troupe state request");
        }
        int version = in.get(8) & 0xff;
        if (version != VERSION) {
            throw new IllegalArgumentException("the request is of state-transfer protocol version "
                    + version + ", this server speaks version " + VERSION);
        }
        long step = in.getLong(12);
        // The declared token length is checked against what the frame holds before anything is read.
        int tokenLength = Short.toUnsignedInt(in.getShort(20));
        int rest = in.remaining() - LENGTH_PREFIX_BYTES - REQUEST_FIXED_BYTES;
        if (tokenLength > MAX_TOKEN_BYTES || tokenLength > rest) {
            throw new IllegalArgumentException("the request declares a token of " + tokenLength + " bytes");
        }
        byte[] token = new byte[tokenLength];
        in.position(LENGTH_PREFIX_BYTES + REQUEST_FIXED_BYTES).get(token);
        byte[] id = new byte[rest - tokenLength];
        in.get(id);
        if (id.length == 0) {
            throw new IllegalArgumentException("the request names no job");
        }
        return new Request(new String(id, StandardCharsets.UTF_8), step, token);
    }

    /** The header of an ok answer announcing {@code length} bytes of the state of {@code step}. */
    static ByteString ok(long step, long length) {
        return header(STATUS_OK, step, length);
    }

    /** A whole refusal: header and reason, the reason cut to {@value #MAX_REASON_BYTES} bytes. */
    static ByteString refusal(StateRefusedException.Reason reason, long offeredStep, String why) {
        byte[] text = why.getBytes(StandardCharsets.UTF_8);
        int length = Math.min(text.length, MAX_REASON_BYTES);
        return header(reason.code(), offeredStep, length)
                .concat(ByteString.fromArray(text, 0, length));
    }

    private static ByteString header(int status, long step, long length) {
        ByteBuffer out = ByteBuffer.allocate(ANSWER_HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        out.putInt(MAGIC).put((byte) VERSION).put((byte) status).put(new byte[2]).putLong(step)
                .putLong(length);
        return ByteString.fromArrayUnsafe(out.array());
    }

    /**
     * Parses the {@value #ANSWER_HEADER_BYTES}-byte answer header in {@code header}.
     *
     * @throws StateProtocolException naming {@code peer} if it is not a valid header
     */
    static AnswerHeader parseAnswer(ByteBuffer header, InetSocketAddress peer)
            throws StateProtocolException {
        header.order(ByteOrder.LITTLE_ENDIAN);
        String server = "state server " + hostPort(peer);
        if (header.getInt(0) != MAGIC) {
            throw new StateProtocolException(peer, server + " answered with bytes that are not a"
                    + " Troupe state transfer; check that the address is a state server's, not"
                    + " another port of the worker", null);
        }
        int version = header.get(4) & 0xff;
        if (version != VERSION) {
            throw new StateProtocolException(peer, server + " speaks state-transfer protocol"
                    + " version " + version + ", this worker version " + VERSION + "; run the same"
                    + " Troupe version on every worker and the coordinator", null);
        }
        int status = header.get(5) & 0xff;
        long step = header.getLong(8);
        long length = header.getLong(16);
        boolean known = status == STATUS_OK || StateRefusedException.Reason.ofCode(status) != null;
        if (!known || length < 0 || (status != STATUS_OK && length > MAX_REASON_BYTES)) {
            throw new StateProtocolException(peer, server + " sent a malformed answer header"
                    + " (status " + status + ", length " + length + "); run the same Troupe"
                    + " version on every worker and the coordinator", null);
        }
        return new AnswerHeader(status, step, length);
    }

    /** {@code host:port}, as messages name a peer. */
    static String hostPort(InetSocketAddress address) {
        return address == null ? "?" : address.getHostString() + ":" + address.getPort();
    }
}
