package io.troupe.coordinator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.actor.Address;
import org.apache.pekko.cluster.Cluster;
import org.apache.pekko.cluster.MemberStatus;
import org.junit.jupiter.api.Test;

/**
 * A plain-tcp node (an --insecure cluster) behind the frame guard: a connection whose Artery frame
 * header lies about its length is dropped before its payload is buffered, and only that
 * connection; a worker joins afterwards. Without the guard, Pekko 1.7.0 holds the same connection
 * open, waiting for the 2 GiB it was promised.
 */
class ArteryFrameGuardTest {

    @Test
    void aLyingFrameHeaderDropsOnlyItsConnection() throws Exception {
        try (ClusterNode.JobHost coordinator = ClusterNode.JobHost.start("127.0.0.1", 0)) {
            Address seed = coordinator.address();
            int port = (Integer) seed.getPort().get();
            try (Socket patient = connectArtery(port)) { // a well-behaved peer, mid-stream
                assertEquals("dropped", lyingHeader(port, 64), "the guard let a 2 GiB frame header through");
                patient.getOutputStream().write(lengthOf(16));
                patient.getOutputStream().write(new byte[8]);
                assertEquals("open", await(patient, 1000), "a connection within bounds was cut");
            }
            ActorSystem worker = ActorSystem.create(ClusterNode.SYSTEM_NAME, quiet(ClusterNode.config("127.0.0.1", 0,
                    List.of("worker"))));
            try {
                Cluster.get(worker).join(seed);
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                while (Cluster.get(worker).selfMember().status() != MemberStatus.up() && System.nanoTime() < deadline) {
                    Thread.sleep(100);
                }
                assertEquals(MemberStatus.up(), Cluster.get(worker).selfMember().status(),
                        "a worker joins through the guard");
            } finally {
                worker.terminate();
                worker.getWhenTerminated().toCompletableFuture().get(60, TimeUnit.SECONDS);
            }
        }
    }

    @Test
    void withoutTheGuardPekkoWaitsForWhatTheHeaderPromised() throws Exception {
        // Artery bound directly (what the guard replaces): the upstream weakness, kept as evidence.
        ActorSystem bare = ActorSystem.create(ClusterNode.SYSTEM_NAME, quiet(ClusterNode.config("127.0.0.1", 0,
                List.of("coordinator"))));
        try {
            int port = (Integer) Cluster.get(bare).selfAddress().getPort().get();
            // Only 64 KiB of filler: with 4 MiB the writer stalled for over 10 minutes while this
            // JVM grew to 3.6 GB resident (Pekko's parser re-buffers the growing frame).
            assertEquals("open", lyingHeader(port, 1));
        } finally {
            bare.terminate();
            bare.getWhenTerminated().toCompletableFuture().get(60, TimeUnit.SECONDS);
        }
    }

    private static Config quiet(Config config) {
        return ConfigFactory.parseString("pekko.loglevel = OFF\npekko.cluster.jmx.enabled = off").withFallback(config);
    }

    // Artery's connection header (magic, stream id 1: control) and a frame header declaring 2 GiB,
    // then fillerChunks x 64 KiB of the promised bytes: "dropped" when the node closes the connection, "open" when
    // it still waits for more.
    private static String lyingHeader(int port, int fillerChunks) throws IOException {
        try (Socket socket = connectArtery(port)) {
            try {
                OutputStream out = socket.getOutputStream();
                out.write(lengthOf(Integer.MAX_VALUE));
                byte[] filler = new byte[64 * 1024];
                for (int i = 0; i < fillerChunks; i++) {
                    out.write(filler);
                }
            } catch (IOException reset) {
                return "dropped";
            }
            return await(socket, 3000);
        }
    }

    private static Socket connectArtery(int port) throws IOException {
        Socket socket = new Socket("127.0.0.1", port);
        socket.getOutputStream().write("AKKA".getBytes(StandardCharsets.US_ASCII));
        socket.getOutputStream().write(1);
        return socket;
    }

    private static byte[] lengthOf(int declared) {
        return ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(declared).array();
    }

    private static String await(Socket socket, int millis) throws IOException {
        socket.setSoTimeout(millis);
        try {
            return socket.getInputStream().read() < 0 ? "dropped" : "open";
        } catch (SocketTimeoutException stillOpen) {
            return "open";
        } catch (IOException reset) {
            return "dropped";
        }
    }
}
