package io.troupe.worker.transfer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import io.troupe.worker.checkpoint.Checkpoint;
import io.troupe.worker.checkpoint.CheckpointCodec;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.util.ByteString;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The state arrives bit for bit, or the fetch fails in time with a message that says why. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class StateTransferTest {

    private static final String JOB = "job-7";
    /** The ring generation's state token the servers here admit. */
    private static final String TOKEN = "5c0f3a9e21d84b7f9e0a6c3d2b1f4e8a";
    private static final String CONFIG = "{\"model\":{\"n_layer\":2,\"n_embd\":64},\"lr\":0.001}";
    /** Generous: only the deadline tests expect it to pass. */
    private static final Duration DEADLINE = Duration.ofSeconds(20);
    private static final InetSocketAddress ANY_PORT = new InetSocketAddress("127.0.0.1", 0);
    private static ActorSystem system;

    @BeforeAll
    static void startSystem() {
        system = ActorSystem.create("state-transfer-test",
                ConfigFactory.parseString("pekko.loglevel = ERROR")
                        .withFallback(ConfigFactory.load()));
    }

    @AfterAll
    static void stopSystem() throws Exception {
        system.terminate();
        system.getWhenTerminated().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    @Test
    void aRealisticStateArrivesBitForBit() throws Exception {
        Checkpoint state = checkpoint(42, 1_000_000, new Random(1)); // 12 MB of floats
        state.parameters()[0] = Float.intBitsToFloat(0x7fc0_1234); // a NaN with a payload
        state.adamM()[1] = -0.0f;
        state.adamV()[2] = Float.MIN_VALUE;
        try (StateServer server = admitting(StateServer.bind(system, ANY_PORT, "rank 3"))) {
            server.offer(JOB, state);
            Checkpoint fetched = StateClient.fetch(system, server.address(), JOB, TOKEN, 42, CONFIG,
                    DEADLINE);
            assertEquals(state, fetched);
            assertBitwiseEqual(state.parameters(), fetched.parameters());
            assertBitwiseEqual(state.adamM(), fetched.adamM());
            assertBitwiseEqual(state.adamV(), fetched.adamV());
            assertEquals(state.tokenizer(), fetched.tokenizer());
            assertEquals(List.of("val"), List.copyOf(fetched.extraRngState().keySet()));
            // Any step: whichever is offered.
            assertEquals(state, StateClient.fetch(system, server.address(), JOB, TOKEN,
                    StateClient.ANY_STEP, DEADLINE));
        }
    }

    @Test
    void severalClientsFetchAtOnce() throws Exception {
        Checkpoint state = checkpoint(5, 300_000, new Random(2));
        ExecutorService clients = Executors.newFixedThreadPool(3);
        try (StateServer server = admitting(StateServer.bind(system, ANY_PORT, "rank 0"))) {
            server.offer(JOB, state);
            List<Future<Checkpoint>> fetches = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                fetches.add(clients.submit(() ->
                        StateClient.fetch(system, server.address(), JOB, TOKEN, 5, DEADLINE)));
            }
            for (Future<Checkpoint> fetch : fetches) {
                assertEquals(state, fetch.get(30, TimeUnit.SECONDS));
            }
        } finally {
            clients.shutdownNow();
        }
    }

    @Test
    void anotherStepIsRefusedNamingBoth() throws Exception {
        try (StateServer server = admitting(StateServer.bind(system, ANY_PORT, "rank 3"))) {
            server.offer(JOB, checkpoint(41, 10, new Random(3)));
            StateRefusedException e = assertThrows(StateRefusedException.class,
                    () -> StateClient.fetch(system, server.address(), JOB, TOKEN, 42, DEADLINE));
            assertEquals(StateRefusedException.Reason.OTHER_STEP, e.reason());
            assertEquals(41, e.offeredStep());
            assertEquals(server.address(), e.peer());
            assertEquals("state server " + hostPort(server) + " refused: rank 3 has the state of"
                    + " step 41 but step 42 was asked; ask for step 41 (or ANY_STEP), or ask again"
                    + " once it offers step 42", e.getMessage());
        }
    }

    @Test
    void nothingOfferedOrWithdrawnIsRefused() throws Exception {
        try (StateServer server = admitting(StateServer.bind(system, ANY_PORT, "coordinator"))) {
            StateRefusedException before = assertThrows(StateRefusedException.class,
                    () -> StateClient.fetch(system, server.address(), JOB, TOKEN, 1, DEADLINE));
            assertEquals(StateRefusedException.Reason.NO_STATE, before.reason());
            assertTrue(before.getMessage().contains("refused: coordinator has no state offered"),
                    before.getMessage());

            server.offer(JOB, checkpoint(1, 10, new Random(4)));
            assertEquals(1, StateClient.fetch(system, server.address(), JOB, TOKEN, 1, DEADLINE)
                    .trainingStep());
            server.withdraw();
            StateRefusedException after = assertThrows(StateRefusedException.class,
                    () -> StateClient.fetch(system, server.address(), JOB, TOKEN, 1, DEADLINE));
            assertEquals(StateRefusedException.Reason.NO_STATE, after.reason());
        }
    }

    @Test
    void anotherJobIsRefused() throws Exception {
        try (StateServer server = admitting(StateServer.bind(system, ANY_PORT, "rank 1"))) {
            server.offer(JOB, checkpoint(3, 10, new Random(5)));
            StateRefusedException e = assertThrows(StateRefusedException.class,
                    () -> StateClient.fetch(system, server.address(), "job-8", TOKEN, 3, DEADLINE));
            assertEquals(StateRefusedException.Reason.OTHER_JOB, e.reason());
            assertTrue(e.getMessage().contains("it serves no state for the job asked for"), e.getMessage());
            // Nothing about the state offered leaks to a stranger: not its job id, nor its step.
            assertFalse(e.getMessage().contains(JOB), e.getMessage());
            assertEquals(-1, e.offeredStep(), "no step revealed");
        }
    }

    @Test
    void anotherModelConfigIsRefusedNamingTheDifference() throws Exception {
        try (StateServer server = admitting(StateServer.bind(system, ANY_PORT, "rank 1"))) {
            server.offer(JOB, checkpoint(3, 10, new Random(6)));
            String other = "{\"model\":{\"n_layer\":4,\"n_embd\":64},\"lr\":0.001}";
            StateMismatchException e = assertThrows(StateMismatchException.class,
                    () -> StateClient.fetch(system, server.address(), JOB, TOKEN, 3, other, DEADLINE));
            assertEquals("state server " + hostPort(server) + " trains another model config"
                    + " (model.n_layer: 2 in the checkpoint, 4 now); fetch from a peer of this"
                    + " job, or start this worker with that config", e.getMessage());
            // The same settings written differently are the same config.
            String reordered = "{\"lr\": 1e-3, \"model\": {\"n_embd\": 64, \"n_layer\": 2}}";
            assertEquals(3, StateClient.fetch(system, server.address(), JOB, TOKEN, 3, reordered,
                    DEADLINE).trainingStep());
        }
    }

    @Test
    void aCorruptedByteFailsTheChecksum() throws Exception {
        byte[] encoded = CheckpointCodec.encode(checkpoint(9, 100_000, new Random(7)));
        encoded[encoded.length / 2] ^= 0x40;
        try (StateServer server = admitting(StateServer.bind(system, ANY_PORT, "rank 2"))) {
            server.offer(JOB, 9, encoded);
            StateProtocolException e = assertThrows(StateProtocolException.class,
                    () -> StateClient.fetch(system, server.address(), JOB, TOKEN, 9, DEADLINE));
            assertEquals("the state from state server " + hostPort(server) + " is truncated or"
                    + " corrupt (checksum mismatch); fetch it again, from another peer if it"
                    + " happens again", e.getMessage());
        }
    }

    @Test
    void aServerThatClosesMidTransferIsNamed() throws Exception {
        byte[] encoded = CheckpointCodec.encode(checkpoint(9, 100_000, new Random(8)));
        int half = encoded.length / 2;
        try (FakeStateServer fake = new FakeStateServer(socket -> {
            FakeStateServer.readRequest(socket.getInputStream());
            OutputStream out = socket.getOutputStream();
            out.write(TransferProtocol.ok(9, encoded.length).toArray());
            out.write(encoded, 0, half);
            out.flush();
        })) {
            // A peer error, not a timeout: the close is noticed at once, not at the deadline.
            StatePeerException e = assertThrows(StatePeerException.class,
                    () -> StateClient.fetch(system, fake.address(), JOB, TOKEN, 9, DEADLINE));
            assertEquals("state server 127.0.0.1:" + fake.address().getPort() + " closed the"
                    + " connection after " + half + " of " + encoded.length + " bytes; it stopped"
                    + " or was closed mid-transfer: fetch again or from another peer",
                    e.getMessage());
        }
    }

    @Test
    void aServerThatAnnouncesMoreStateThanTheModelCanHaveIsRefusedBeforeAnythingIsAllocated() throws Exception {
        // A lying header: 1 TiB announced, and a checkpoint header to match; nothing else follows.
        long lie = 1L << 40;
        try (FakeStateServer fake = new FakeStateServer(socket -> {
            FakeStateServer.readRequest(socket.getInputStream());
            OutputStream out = socket.getOutputStream();
            out.write(TransferProtocol.ok(9, lie).toArray());
            out.flush();
            Thread.sleep(60_000);
        })) {
            long max = StateClient.maxStateBytes(100_000);
            StateProtocolException e = assertThrows(StateProtocolException.class,
                    () -> StateClient.fetch(system, fake.address(), JOB, TOKEN, 9, null, DEADLINE,
                            java.util.Optional.empty(), max));
            assertEquals("state server 127.0.0.1:" + fake.address().getPort() + " announced " + lie
                    + " bytes of state, more than the " + max + " this model's state can take; it"
                    + " breaks the protocol: fetch from another peer", e.getMessage());
        }
    }

    @Test
    void aServerThatNeverAnswersTimesOutAtTheDeadline() throws Exception {
        try (FakeStateServer fake = new FakeStateServer(socket -> {
            FakeStateServer.readRequest(socket.getInputStream());
            Thread.sleep(60_000); // holds the connection open and says nothing
        })) {
            StateTimeoutException e = assertThrows(StateTimeoutException.class,
                    () -> StateClient.fetch(system, fake.address(), JOB, TOKEN, 9, Duration.ofSeconds(1)));
            assertEquals("state server 127.0.0.1:" + fake.address().getPort() + " did not answer"
                    + " within the deadline of 1000 ms (before it answered); check that the peer"
                    + " is alive and not overloaded, or allow a longer deadline", e.getMessage());
        }
    }

    @Test
    void aRefusedConnectionIsNamed() throws Exception {
        int deadPort;
        try (ServerSocket socket = new ServerSocket(0)) {
            deadPort = socket.getLocalPort(); // free once closed: nothing listens there
        }
        StatePeerException e = assertThrows(StatePeerException.class, () -> StateClient.fetch(
                system, new InetSocketAddress("127.0.0.1", deadPort), JOB, TOKEN, 1, DEADLINE));
        assertTrue(e.getMessage().startsWith("cannot connect to state server 127.0.0.1:"
                + deadPort + ": "), e.getMessage());
        assertTrue(e.getMessage().endsWith("; check that the peer is running and serving its"
                + " state on that address"), e.getMessage());
    }

    @Test
    void aClosedServerRefusesConnections() throws Exception {
        StateServer server = admitting(StateServer.bind(system, ANY_PORT, "rank 0"));
        server.offer(JOB, checkpoint(1, 10, new Random(9)));
        InetSocketAddress address = server.address();
        server.close();
        server.close(); // twice is fine
        assertThrows(StatePeerException.class,
                () -> StateClient.fetch(system, address, JOB, TOKEN, 1, DEADLINE));
    }

    @Test
    void closingTheServerEndsRunningTransfers() throws Exception {
        // 24 MB: far more than socket buffers and Pekko hold in flight, so the transfer is
        // still running while this client reads nothing past the header.
        Checkpoint state = checkpoint(4, 2_000_000, new Random(11));
        StateServer server = admitting(StateServer.bind(system, ANY_PORT, "rank 0"));
        server.offer(JOB, state);
        try (Socket socket = new Socket(server.address().getAddress(),
                server.address().getPort())) {
            socket.getOutputStream().write(TransferProtocol.request(JOB, 4, TOKEN).toArray());
            byte[] header = socket.getInputStream().readNBytes(
                    TransferProtocol.ANSWER_HEADER_BYTES);
            long announced = ByteBuffer.wrap(header).order(ByteOrder.LITTLE_ENDIAN).getLong(16);
            server.close();
            long rest = socket.getInputStream().transferTo(OutputStream.nullOutputStream());
            assertTrue(rest < announced, rest + " of " + announced + " bytes arrived");
        }
    }

    @Test
    void aPortInUseIsAClearError() throws Exception {
        try (StateServer first = admitting(StateServer.bind(system, ANY_PORT, "rank 0"))) {
            int port = first.address().getPort();
            StateTransferException e = assertThrows(StateTransferException.class, () ->
                    StateServer.bind(system, new InetSocketAddress("127.0.0.1", port), "rank 1"));
            assertTrue(e.getMessage().startsWith("the state server of rank 1 cannot listen on"
                    + " 127.0.0.1:" + port + ": "), e.getMessage());
            assertTrue(e.getMessage().contains("in use"), e.getMessage());
        }
    }

    @Test
    void aRequestOfAnotherVersionGetsAReason() throws Exception {
        try (StateServer server = admitting(StateServer.bind(system, ANY_PORT, "rank 0"));
             Socket socket = new Socket(server.address().getAddress(), server.address().getPort())) {
            byte[] request = TransferProtocol.request(JOB, 1, TOKEN).toArray();
            request[8] = 9; // version
            socket.getOutputStream().write(request);
            socket.shutdownOutput(); // the server answers all the same, then closes
            byte[] answer = socket.getInputStream().readAllBytes(); // the server closes after it
            ByteBuffer header = ByteBuffer.wrap(answer).order(ByteOrder.LITTLE_ENDIAN);
            assertEquals(StateRefusedException.Reason.BAD_REQUEST.code(), header.get(5));
            String why = ByteString.fromArray(answer).drop(TransferProtocol.ANSWER_HEADER_BYTES)
                    .utf8String();
            assertEquals("the request is of state-transfer protocol version 9, this server speaks"
                    + " version 2", why);
        }
    }

    @Test
    void offeredBytesMustHoldTheOfferedStep() throws Exception {
        byte[] encoded = CheckpointCodec.encode(checkpoint(9, 10, new Random(10)));
        try (StateServer server = admitting(StateServer.bind(system, ANY_PORT, "rank 0"))) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> server.offer(JOB, 10, encoded));
            assertEquals("the encoded checkpoint holds step 9 but is offered as step 10",
                    e.getMessage());
            assertThrows(IllegalArgumentException.class,
                    () -> server.offer(JOB, 9, new byte[100]));
        }
    }

    @Test
    void aFetchWithoutTheTokenIsRefusedAndToldNothing() throws Exception {
        try (StateServer server = admitting(StateServer.bind(system, ANY_PORT, "rank 3"))) {
            server.offer(JOB, checkpoint(3, 10, new Random(12)));
            StateRefusedException e = assertThrows(StateRefusedException.class,
                    () -> StateClient.fetch(system, server.address(), JOB, "", 3, DEADLINE));
            assertEquals(StateRefusedException.Reason.NOT_ADMITTED, e.reason());
            assertEquals(-1, e.offeredStep(), "no step revealed");
            // The server's own words are two, whatever the asker sent: no job id, owner or step.
            byte[] answer = rawAnswer(server, TransferProtocol.request(JOB, 3, "").toArray());
            assertEquals(StateRefusedException.Reason.NOT_ADMITTED.code(), answer[5]);
            assertEquals("not admitted", ByteString.fromArray(answer)
                    .drop(TransferProtocol.ANSWER_HEADER_BYTES).utf8String());
            assertEquals(-1, ByteBuffer.wrap(answer).order(ByteOrder.LITTLE_ENDIAN).getLong(8));
        }
    }

    @Test
    void aStaleTokenIsRefusedOnceTheNextGenerationsIsAdmitted() throws Exception {
        String next = "0b7e1d4c9a2f8e6d3c5b1a0f9e8d7c6b";
        try (StateServer server = admitting(StateServer.bind(system, ANY_PORT, "rank 0"))) {
            server.offer(JOB, checkpoint(5, 10, new Random(13)));
            assertEquals(5, StateClient.fetch(system, server.address(), JOB, TOKEN, 5, DEADLINE).trainingStep());
            server.admit(next);
            StateRefusedException stale = assertThrows(StateRefusedException.class,
                    () -> StateClient.fetch(system, server.address(), JOB, TOKEN, 5, DEADLINE));
            assertEquals(StateRefusedException.Reason.NOT_ADMITTED, stale.reason());
            assertEquals("state server " + hostPort(server) + " refused: not admitted; its ring generation has"
                    + " changed since the token was issued, or this process is not a worker of the job: wait for"
                    + " the coordinator's next ring", stale.getMessage());
            assertEquals(5, StateClient.fetch(system, server.address(), JOB, next, 5, DEADLINE).trainingStep());
        }
    }

    @Test
    void aWrongTokenIsRefusedWhateverItsLength() throws Exception {
        try (StateServer server = admitting(StateServer.bind(system, ANY_PORT, "rank 1"))) {
            server.offer(JOB, checkpoint(2, 10, new Random(14)));
            String sameLength = TOKEN.substring(0, TOKEN.length() - 1) + "0";
            for (String wrong : List.of(sameLength, TOKEN.substring(0, 8), TOKEN + "0", "x".repeat(128))) {
                StateRefusedException e = assertThrows(StateRefusedException.class,
                        () -> StateClient.fetch(system, server.address(), JOB, wrong, 2, DEADLINE), wrong);
                assertEquals(StateRefusedException.Reason.NOT_ADMITTED, e.reason(), wrong);
            }
        }
    }

    @Test
    void aServerAdmitsNobodyUntilItIsGivenAToken() throws Exception {
        try (StateServer server = StateServer.bind(system, ANY_PORT, "coordinator")) {
            server.offer(JOB, checkpoint(1, 10, new Random(15)));
            for (String token : List.of("", TOKEN)) {
                StateRefusedException e = assertThrows(StateRefusedException.class,
                        () -> StateClient.fetch(system, server.address(), JOB, token, 1, DEADLINE));
                assertEquals(StateRefusedException.Reason.NOT_ADMITTED, e.reason());
            }
            assertThrows(IllegalArgumentException.class, () -> server.admit(""), "an empty token admits nobody");
        }
    }

    @Test
    void aRequestDeclaringALongerTokenThanItHoldsIsABadRequest() throws Exception {
        try (StateServer server = admitting(StateServer.bind(system, ANY_PORT, "rank 0"))) {
            byte[] request = TransferProtocol.request(JOB, 1, TOKEN).toArray();
            ByteBuffer.wrap(request).order(ByteOrder.LITTLE_ENDIAN).putShort(20, (short) 0xffff);
            byte[] answer = rawAnswer(server, request);
            assertEquals(StateRefusedException.Reason.BAD_REQUEST.code(), answer[5]);
            assertEquals("the request declares a token of 65535 bytes", ByteString.fromArray(answer)
                    .drop(TransferProtocol.ANSWER_HEADER_BYTES).utf8String());
        }
    }

    /** Sends {@code request} as is and returns the whole answer (the server closes after it). */
    private static byte[] rawAnswer(StateServer server, byte[] request) throws Exception {
        try (Socket socket = new Socket(server.address().getAddress(), server.address().getPort())) {
            socket.getOutputStream().write(request);
            socket.shutdownOutput();
            return socket.getInputStream().readAllBytes();
        }
    }

    private static StateServer admitting(StateServer server) {
        server.admit(TOKEN);
        return server;
    }

    static Checkpoint checkpoint(long step, int params, Random random) {
        return new Checkpoint(CONFIG, floats(random, params), floats(random, params),
                floats(random, params), step, step, new long[] {random.nextLong(), 3},
                Map.of("val", new long[] {random.nextLong()}), "{\"type\":\"char\"}");
    }

    private static float[] floats(Random random, int n) {
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            out[i] = (float) random.nextGaussian();
        }
        return out;
    }

    private static String hostPort(StateServer server) {
        return "127.0.0.1:" + server.address().getPort();
    }

    private static void assertBitwiseEqual(float[] expected, float[] actual) {
        assertEquals(expected.length, actual.length);
        for (int i = 0; i < expected.length; i++) {
            if (Float.floatToRawIntBits(expected[i]) != Float.floatToRawIntBits(actual[i])) {
                throw new AssertionError("element " + i + " differs: " + expected[i] + " vs "
                        + actual[i]);
            }
        }
    }
}
