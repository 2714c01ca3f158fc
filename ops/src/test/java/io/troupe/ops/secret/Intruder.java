package io.troupe.ops.secret;

import io.troupe.worker.tls.ClusterTls;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Duration;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;

/**
 * What an attacker on the network does to a Troupe port, from a test: connect, send some bytes,
 * and see whether the node drops the connection or holds it open. Plain TCP or TLS, with the
 * cluster's certificate, another cluster's, or none.
 */
public final class Intruder {

    private Intruder() {
    }

    /** What the attacked node did with the connection. */
    public enum Outcome {
        /** Closed, reset or refused by the node (a TLS alert counts as closed). */
        DROPPED,
        /** Still open when the wait ended: the node took the connection as a peer's. */
        HELD_OPEN
    }

    /** The outcome, and how many bytes of application data the node sent back before it. */
    public record Result(Outcome outcome, long bytesReceived) {
    }

    /**
     * Connects in plain TCP, sends {@code first} and then {@code fillerBytes} zeros, and waits up
     * to {@code wait} for the node to close the connection.
     */
    public static Result plain(InetSocketAddress to, byte[] first, int fillerBytes, Duration wait) {
        try (Socket socket = new Socket()) {
            socket.connect(to, 5_000);
            socket.setSoTimeout((int) wait.toMillis());
            try {
                OutputStream out = socket.getOutputStream();
                out.write(first);
                byte[] filler = new byte[64 * 1024];
                for (int sent = 0; sent < fillerBytes; sent += filler.length) {
                    out.write(filler, 0, Math.min(filler.length, fillerBytes - sent));
                }
                out.flush();
            } catch (IOException reset) {
                return new Result(Outcome.DROPPED, 0);
            }
            return await(socket.getInputStream(), true);
        } catch (IOException e) {
            return new Result(Outcome.DROPPED, 0);
        }
    }

    /**
     * Connects with TLS 1.3 through {@code context} (whose key, if any, is the client certificate
     * presented), sends {@code first} once the handshake is done, and waits up to {@code wait}
     * for the node to close the connection.
     */
    public static Result tls(InetSocketAddress to, SSLContext context, byte[] first, Duration wait) {
        try (Socket raw = new Socket()) {
            raw.connect(to, 5_000);
            raw.setSoTimeout((int) wait.toMillis());
            try (SSLSocket socket = (SSLSocket) context.getSocketFactory()
                    .createSocket(raw, to.getHostString(), to.getPort(), true)) {
                socket.setEnabledProtocols(new String[] {ClusterTls.PROTOCOL});
                socket.setSoTimeout((int) wait.toMillis());
                socket.startHandshake();
                if (first.length > 0) {
                    socket.getOutputStream().write(first);
                    socket.getOutputStream().flush();
                }
                // TLS 1.3: a refused client certificate is only learnt here, from the server's alert.
                return await(socket.getInputStream(), false);
            }
        } catch (IOException e) {
            return new Result(Outcome.DROPPED, 0);
        }
    }

    // Reads until the end of the stream (dropped) or the timeout (held open).
    private static Result await(InputStream in, boolean plain) {
        long received = 0;
        byte[] buffer = new byte[8192];
        try {
            for (int n; (n = in.read(buffer)) >= 0; ) {
                // A TLS server answering plain bytes sends at most an alert record (type 21); that is
                // no application data.
                if (!(plain && received == 0 && n > 0 && buffer[0] == 0x15)) {
                    received += n;
                }
            }
            return new Result(Outcome.DROPPED, received);
        } catch (SocketTimeoutException stillOpen) {
            return new Result(Outcome.HELD_OPEN, received);
        } catch (IOException reset) {
            return new Result(Outcome.DROPPED, received);
        }
    }

    /**
     * An Artery TCP connection header and a frame header that declares {@code length} bytes (Pekko's
     * framing: magic "AKKA", stream id, then a little-endian int32 length).
     */
    public static byte[] arteryFrameHeader(int length) {
        ByteBuffer header = ByteBuffer.allocate(9).order(ByteOrder.LITTLE_ENDIAN);
        header.put("AKKA".getBytes(StandardCharsets.US_ASCII)).put((byte) 1).putInt(length);
        return header.array();
    }

    /**
     * A ring admission preamble (as {@code RingAdmission.preamble} writes it): magic "TRAD",
     * generation, token length, token.
     */
    public static byte[] ringPreamble(long generation, String token) {
        byte[] secret = token.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(4 + 8 + 2 + secret.length).order(ByteOrder.BIG_ENDIAN);
        b.putInt(0x54524144).putLong(generation).putShort((short) secret.length).put(secret);
        return b.array();
    }

    /** The TLS context of a worker of the cluster whose identity is in {@code dir}. */
    public static SSLContext member(Path dir) {
        return ClusterTls.load(dir, ClusterTls.Role.WORKER).context();
    }

    /**
     * A TLS context that trusts the cluster's CA (its certificate is public) but holds no
     * certificate: it can complete a handshake only with a server that does not ask for one.
     */
    public static SSLContext withoutCertificate(Path clusterDir) throws Exception {
        char[] password = Files.readString(clusterDir.resolve(ClusterTls.PASSWORD)).strip().toCharArray();
        KeyStore trust = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(clusterDir.resolve(ClusterTls.TRUST_STORE))) {
            trust.load(in, password);
        }
        TrustManagerFactory trusting = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        trusting.init(trust);
        SSLContext context = SSLContext.getInstance(ClusterTls.PROTOCOL);
        context.init(null, trusting.getTrustManagers(), null);
        return context;
    }
}
