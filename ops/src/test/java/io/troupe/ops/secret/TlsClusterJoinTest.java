package io.troupe.ops.secret;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.troupe.coordinator.ClusterNode;
import io.troupe.worker.tls.ClusterTls;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.actor.Address;
import org.apache.pekko.cluster.Cluster;
import org.apache.pekko.cluster.MemberStatus;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Artery over {@code tls-tcp} with mutual authentication (issue 16): a node with the cluster's
 * worker certificate joins a coordinator started with {@code --tls}; a node without TLS, or with
 * another cluster's certificates, never becomes a member.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class TlsClusterJoinTest {

    @TempDir
    static Path tmp;
    private static ClusterNode.JobHost coordinator;

    @BeforeAll
    static void startCoordinator() throws Exception {
        ClusterSecrets secrets = new ClusterSecrets(Duration.ofDays(1));
        secrets.write(tmp.resolve("cluster"));
        secrets.write(tmp.resolve("other"));
        coordinator = ClusterNode.JobHost.start("127.0.0.1", 0,
                Optional.of(ClusterTls.load(tmp.resolve("cluster"), ClusterTls.Role.COORDINATOR)));
    }

    @AfterAll
    static void stop() {
        coordinator.close();
    }

    @Test
    void onlyANodeWithTheClusterCertificateJoins() throws Exception {
        Address seed = coordinator.address();
        ActorSystem plain = node(Optional.empty());
        ActorSystem stranger = node(Optional.of(ClusterTls.load(tmp.resolve("other"), ClusterTls.Role.WORKER)));
        // Trusts the cluster CA (its certificate is public) but has no certificate the CA issued.
        ActorSystem impostor = node(Optional.of(ClusterTls.load(trustingTheClusterWithoutItsKey(), ClusterTls.Role.WORKER)));
        ActorSystem member = node(Optional.of(ClusterTls.load(tmp.resolve("cluster"), ClusterTls.Role.WORKER)));
        try {
            // A lying Artery frame header (2 GiB declared) and 4 MiB of filler from a stranger: over
            // tls-tcp it never reaches Artery's framing (Pekko 1.7.0 does not bound a declared
            // length there); the TLS engine rejects the first bytes and that connection alone ends.
            assertDropped(seed);
            assertMutualAuthentication(seed);
            Cluster.get(plain).join(seed);
            Cluster.get(stranger).join(seed);
            Cluster.get(impostor).join(seed);
            Cluster.get(member).join(seed);
            assertTrue(awaitUp(member, Duration.ofSeconds(60)), "the node with the cluster certificate joined");
            // By now the others had as long as the member took, and more: still outside.
            Thread.sleep(3000);
            assertFalse(isUp(plain), "a node without TLS joined a TLS cluster");
            assertFalse(isUp(stranger), "a node of another cluster joined");
            assertFalse(isUp(impostor), "a node trusting the cluster CA but without its certificate joined");
            assertEquals(2, Cluster.get(member).state().members().size(), "only the coordinator and the member");
        } finally {
            for (ActorSystem system : List.of(plain, stranger, impostor, member)) {
                system.terminate();
            }
            // Cleanup only: a refused node can spend a while in its handshake retries before it
            // stops (seen once under load: > 30 s). What the test proves was asserted above, so a
            // slow stop is waited for, within bounds, but not turned into a failure.
            for (ActorSystem system : List.of(plain, stranger, impostor, member)) {
                try {
                    system.getWhenTerminated().toCompletableFuture().get(60, TimeUnit.SECONDS);
                } catch (java.util.concurrent.TimeoutException e) {
                    System.err.println("TlsClusterJoinTest: " + system.name() + " still stopping after 60 s");
                }
            }
        }
    }

    /**
     * The impostor's join above would fail even with mutual authentication off (the coordinator's
     * own connection back to the impostor fails on the impostor's certificate), so this is what
     * proves the coordinator asks for a client certificate: a TLS client that trusts the cluster's
     * CA but has no certificate is dropped, one with the cluster's certificate is held open.
     */
    private static void assertMutualAuthentication(Address seed) throws Exception {
        java.net.InetSocketAddress to = new java.net.InetSocketAddress(seed.getHost().get(),
                (Integer) seed.getPort().get());
        Duration wait = Duration.ofSeconds(3);
        assertEquals(Intruder.Outcome.DROPPED, Intruder.tls(to, Intruder.withoutCertificate(tmp.resolve("cluster")),
                new byte[0], wait).outcome(), "a TLS client without a certificate was let in");
        assertEquals(Intruder.Outcome.HELD_OPEN, Intruder.tls(to, Intruder.member(tmp.resolve("cluster")), new byte[0],
                wait).outcome(), "a member's TLS connection was dropped");
    }

    private static void assertDropped(Address seed) throws Exception {
        try (java.net.Socket socket = new java.net.Socket(seed.getHost().get(), (Integer) seed.getPort().get())) {
            socket.setSoTimeout(10_000);
            java.nio.ByteBuffer header = java.nio.ByteBuffer.allocate(9).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            header.put("AKKA".getBytes(java.nio.charset.StandardCharsets.US_ASCII)).put((byte) 1).putInt(Integer.MAX_VALUE);
            try {
                socket.getOutputStream().write(header.array());
                byte[] filler = new byte[64 * 1024];
                for (int i = 0; i < 64; i++) {
                    socket.getOutputStream().write(filler);
                }
                // At most a TLS alert (record type 21), then the end of the stream.
                int first = socket.getInputStream().read();
                assertTrue(first == -1 || first == 0x15, "a TLS alert or nothing, got " + first);
                while (socket.getInputStream().read() >= 0) {
                    // drain the alert; the read that ends the loop is the close
                }
            } catch (java.io.IOException reset) {
                // reset while sending or reading: dropped as well
            }
        }
    }

    // Another cluster's worker key and password, with a trust store of this cluster's CA.
    private static Path trustingTheClusterWithoutItsKey() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("impostor"));
        Path other = tmp.resolve("other");
        Files.copy(other.resolve(ClusterTls.WORKER_KEY_STORE), dir.resolve(ClusterTls.WORKER_KEY_STORE));
        Files.copy(other.resolve(ClusterTls.PASSWORD), dir.resolve(ClusterTls.PASSWORD));
        char[] password = Files.readString(dir.resolve(ClusterTls.PASSWORD)).strip().toCharArray();
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        try (InputStream pem = Files.newInputStream(tmp.resolve("cluster").resolve(ClusterTls.CA_CERT))) {
            trust.setCertificateEntry("ca", CertificateFactory.getInstance("X.509").generateCertificate(pem));
        }
        try (OutputStream out = Files.newOutputStream(dir.resolve(ClusterTls.TRUST_STORE))) {
            trust.store(out, password);
        }
        return dir;
    }

    private static ActorSystem node(Optional<ClusterTls> tls) {
        Config config = ConfigFactory.parseString("pekko.loglevel = OFF\npekko.cluster.jmx.enabled = off")
                .withFallback(ClusterNode.config("127.0.0.1", 0, List.of("worker"), tls));
        return ActorSystem.create(ClusterNode.SYSTEM_NAME, config);
    }

    private static boolean awaitUp(ActorSystem system, Duration timeout) throws InterruptedException {
        long end = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < end) {
            if (isUp(system)) {
                return true;
            }
            Thread.sleep(200);
        }
        return false;
    }

    private static boolean isUp(ActorSystem system) {
        MemberStatus status = Cluster.get(system).selfMember().status();
        return status == MemberStatus.up() || status == MemberStatus.weaklyUp();
    }
}
