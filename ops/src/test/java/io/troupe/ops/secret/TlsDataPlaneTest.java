package io.troupe.ops.secret;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import io.troupe.worker.allreduce.RingAdmission;
import io.troupe.worker.allreduce.RingAllReduce;
import io.troupe.worker.allreduce.RingSettings;
import io.troupe.worker.checkpoint.Checkpoint;
import io.troupe.worker.tls.ClusterTls;
import io.troupe.worker.transfer.StateClient;
import io.troupe.worker.transfer.StateServer;
import io.troupe.worker.transfer.StateTransferException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.FloatBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;
import org.apache.pekko.actor.ActorSystem;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The data plane over TLS (issue 16): members with the cluster's certificates form a ring and
 * hand over state as before; a process without one (plain TCP even with the right ring token, a
 * TLS client with no certificate, or one of another cluster) can neither join the ring nor read
 * a byte of the state.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class TlsDataPlaneTest {

    @TempDir
    static Path tmp;
    private static ActorSystem system;
    private static ClusterTls worker;
    private static ClusterTls coordinator;
    private static ClusterTls stranger;

    @BeforeAll
    static void setUp() throws Exception {
        ClusterSecrets secrets = new ClusterSecrets(Duration.ofDays(1));
        secrets.write(tmp.resolve("cluster"));
        secrets.write(tmp.resolve("other"));
        worker = ClusterTls.load(tmp.resolve("cluster"), ClusterTls.Role.WORKER);
        coordinator = ClusterTls.load(tmp.resolve("cluster"), ClusterTls.Role.COORDINATOR);
        stranger = ClusterTls.load(tmp.resolve("other"), ClusterTls.Role.WORKER);
        system = ActorSystem.create("tls-data-plane-test",
                ConfigFactory.parseString("pekko.loglevel = OFF").withFallback(ConfigFactory.load()));
    }

    @AfterAll
    static void tearDown() throws Exception {
        system.terminate();
        system.getWhenTerminated().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    @Test
    void aTlsRingFormsAndReducesWhileStrangersWithoutTheCertificateAreDropped() throws Exception {
        RingAdmission admission = RingAdmission.issue(5);
        RingSettings settings = RingSettings.defaults().withConnectTimeout(Duration.ofSeconds(10));
        InetSocketAddress any = new InetSocketAddress("127.0.0.1", 0);
        try (RingAllReduce rank0 = RingAllReduce.bind(system, 0, 2, any, settings, admission, Optional.of(worker));
             RingAllReduce rank1 = RingAllReduce.bind(system, 1, 2, any, settings, admission, Optional.of(coordinator));
             // Even the right token in the clear is not TLS: the member's TLS engine rejects it.
             Socket plainWithToken = new Socket("127.0.0.1", rank0.localAddress().getPort());
             Socket noCertificate = tlsSocket(trustingEveryone(), rank0.localAddress().getPort());
             Socket otherCluster = tlsSocket(stranger.context(), rank1.localAddress().getPort())) {
            plainWithToken.getOutputStream().write(admission.preamble().toArray());
            plainWithToken.getOutputStream().flush();
            assertRefused(noCertificate, admission.preamble().toArray());
            assertRefused(otherCluster, admission.preamble().toArray());

            CompletionStage<Void> c0 = rank0.connect(rank1.localAddress());
            CompletionStage<Void> c1 = rank1.connect(rank0.localAddress());
            c0.toCompletableFuture().get(30, TimeUnit.SECONDS);
            c1.toCompletableFuture().get(30, TimeUnit.SECONDS);
            float[] big = new float[300_000]; // several chunks over the TLS records
            float[] other = new float[big.length];
            for (int i = 0; i < big.length; i++) {
                big[i] = i;
                other[i] = -i + 2;
            }
            FloatBuffer a = FloatBuffer.wrap(big);
            FloatBuffer b = FloatBuffer.wrap(other);
            CompletionStage<Void> r0 = rank0.allReduceMean(a, 1, Duration.ofSeconds(30));
            CompletionStage<Void> r1 = rank1.allReduceMean(b, 1, Duration.ofSeconds(30));
            r0.toCompletableFuture().get(60, TimeUnit.SECONDS);
            r1.toCompletableFuture().get(60, TimeUnit.SECONDS);
            for (int i = 0; i < big.length; i += 9973) {
                assertEquals(1f, a.get(i), "mean at " + i);
                assertEquals(1f, b.get(i), "mean at " + i);
            }
            assertNull(rank0.failure());
            assertNull(rank1.failure());
            assertNoPlaintext(plainWithToken);
        }
    }

    @Test
    void stateIsServedOnlyToAHolderOfTheClusterCertificate() throws Exception {
        Checkpoint state = new Checkpoint("config", new float[] {1, 2, 3}, new float[3], new float[3], 4, 4,
                new long[] {1, 4}, Map.of(), "{}");
        try (StateServer server = StateServer.bind(system, new InetSocketAddress("127.0.0.1", 0), "rank 0",
                Optional.of(worker))) {
            server.offer("job-1", state);
            server.admit("token-1");
            Checkpoint fetched = StateClient.fetch(system, server.address(), "job-1", "token-1", 4, "config",
                    Duration.ofSeconds(20), Optional.of(coordinator));
            assertEquals(state, fetched);

            // The real protocol without TLS, and TLS with another cluster's certificate: nothing.
            assertThrows(StateTransferException.class, () -> StateClient.fetch(system, server.address(), "job-1", "token-1", 4,
                    "config", Duration.ofSeconds(10), Optional.empty()));
            assertThrows(StateTransferException.class, () -> StateClient.fetch(system, server.address(), "job-1", "token-1", 4,
                    "config", Duration.ofSeconds(10), Optional.of(stranger)));
            try (Socket noCertificate = tlsSocket(trustingEveryone(), server.address().getPort())) {
                assertRefused(noCertificate, "anything".getBytes(StandardCharsets.US_ASCII));
            }
        }
    }

    // A connection that cannot talk: the handshake fails, or the peer closes it before a byte of
    // application data comes back.
    private static void assertRefused(Socket socket, byte[] send) {
        try {
            socket.setSoTimeout(10_000);
            ((SSLSocket) socket).startHandshake();
            socket.getOutputStream().write(send);
            socket.getOutputStream().flush();
            int read = socket.getInputStream().read();
            assertEquals(-1, read, "the member sent application data to a stranger");
        } catch (IOException expected) {
            // handshake failure or reset: refused
        }
    }

    // What a plain-TCP intruder got back: no state, no ring frames, only TLS records if anything.
    private static void assertNoPlaintext(Socket socket) throws IOException {
        socket.setSoTimeout(10_000);
        ByteArrayOutputStream got = new ByteArrayOutputStream();
        try (InputStream in = socket.getInputStream()) {
            byte[] buffer = new byte[4096];
            for (int n; (n = in.read(buffer)) >= 0; ) {
                got.write(buffer, 0, n);
            }
        } catch (IOException reset) {
            // closed with a reset: refused as well
        }
        byte[] bytes = got.toByteArray();
        assertTrue(bytes.length == 0 || bytes[0] == 0x15 || bytes[0] == 0x16,
                () -> "only a TLS alert or handshake record, got " + bytes.length + " bytes starting " + bytes[0]);
    }

    private static Socket tlsSocket(SSLContext context, int port) throws IOException {
        return context.getSocketFactory().createSocket("127.0.0.1", port);
    }

    // A client with no certificate that would accept any server: the best a stranger can do.
    private static SSLContext trustingEveryone() throws Exception {
        TrustManager trustAll = new X509TrustManager() {
            @Override
            public void checkClientTrusted(X509Certificate[] chain, String authType) {
            }

            @Override
            public void checkServerTrusted(X509Certificate[] chain, String authType) {
            }

            @Override
            public X509Certificate[] getAcceptedIssuers() {
                return new X509Certificate[0];
            }
        };
        SSLContext context = SSLContext.getInstance("TLSv1.3");
        context.init(null, new TrustManager[] {trustAll}, new SecureRandom());
        return context;
    }
}
