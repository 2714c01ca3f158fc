package io.troupe.worker.allreduce;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.FloatBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.util.ByteString;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The ring port race (issue 16): strangers who connect to a member's port before its real
 * predecessor, with garbage, a wrong token or nothing at all, are dropped one by one and the
 * ring forms and reduces as if they had not been there.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RingAdmissionTest {
    private static ActorSystem system;

    @BeforeAll
    static void startSystem() {
        system = ActorSystem.create("ring-admission-test",
                ConfigFactory.parseString("pekko.loglevel = ERROR").withFallback(ConfigFactory.load()));
    }

    @AfterAll
    static void stopSystem() throws Exception {
        system.terminate();
        system.getWhenTerminated().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    @Test
    void intrudersThatConnectFirstDoNotBreakTheRing() throws Exception {
        RingAdmission admission = RingAdmission.issue(7);
        RingSettings settings = RingSettings.defaults().withConnectTimeout(Duration.ofSeconds(5));
        InetSocketAddress any = new InetSocketAddress("127.0.0.1", 0);
        try (RingAllReduce rank0 = RingAllReduce.bind(system, 0, 2, any, settings, admission);
             RingAllReduce rank1 = RingAllReduce.bind(system, 1, 2, any, settings, admission);
             Socket garbage = new Socket("127.0.0.1", rank0.localAddress().getPort());
             Socket wrongToken = new Socket("127.0.0.1", rank0.localAddress().getPort());
             Socket oldGeneration = new Socket("127.0.0.1", rank1.localAddress().getPort());
             Socket silent = new Socket("127.0.0.1", rank1.localAddress().getPort())) {
            garbage.getOutputStream().write("GET / HTTP/1.1\r\nHost: x\r\n\r\n".repeat(4).getBytes(StandardCharsets.US_ASCII));
            wrongToken.getOutputStream().write(RingAdmission.issue(7).preamble().toArray());
            oldGeneration.getOutputStream().write(new RingAdmission(6, admission.token()).preamble().toArray());
            garbage.getOutputStream().flush();

            CompletionStage<Void> c0 = rank0.connect(rank1.localAddress());
            CompletionStage<Void> c1 = rank1.connect(rank0.localAddress());
            c0.toCompletableFuture().get(20, TimeUnit.SECONDS);
            c1.toCompletableFuture().get(20, TimeUnit.SECONDS);

            FloatBuffer a = FloatBuffer.wrap(new float[] {1, 2, 3, 4});
            FloatBuffer b = FloatBuffer.wrap(new float[] {3, 4, 5, 6});
            CompletionStage<Void> r0 = rank0.allReduceMean(a, 1, Duration.ofSeconds(10));
            CompletionStage<Void> r1 = rank1.allReduceMean(b, 1, Duration.ofSeconds(10));
            r0.toCompletableFuture().get(20, TimeUnit.SECONDS);
            r1.toCompletableFuture().get(20, TimeUnit.SECONDS);
            assertEquals(FloatBuffer.wrap(new float[] {2, 3, 4, 5}), a);
            assertEquals(FloatBuffer.wrap(new float[] {2, 3, 4, 5}), b);
            assertNull(rank0.failure());
            assertNull(rank1.failure());

            // The refused connections were closed by the member (end of stream), without a word.
            assertClosed(garbage);
            assertClosed(wrongToken);
            assertClosed(oldGeneration);
        }
    }

    @Test
    void aPreambleIsCheckedBeforeItsDeclaredLengthIsTrusted() {
        RingAdmission admission = RingAdmission.issue(3);
        assertNull(admission.refusal(admission.preamble()));
        assertNotNull(admission.refusal(RingAdmission.issue(3).preamble()), "another token");
        assertNotNull(admission.refusal(new RingAdmission(4, admission.token()).preamble()), "another generation");
        // A header that declares a 65535-byte token: refused on the declared length alone.
        byte[] lying = admission.preamble().toArray();
        lying[12] = (byte) 0xFF;
        lying[13] = (byte) 0xFF;
        String why = admission.refusal(ByteString.fromArray(lying));
        assertTrue(why.contains("65535"), why);
    }

    private static void assertClosed(Socket socket) throws Exception {
        socket.setSoTimeout(10_000);
        InputStream in = socket.getInputStream();
        int read;
        try {
            read = in.read();
        } catch (java.net.SocketException reset) {
            return; // reset by the member: closed as well
        }
        assertEquals(-1, read, "the member closed the intruder's connection");
    }
}
