package io.troupe.worker.transfer;

import io.troupe.worker.tls.ClusterTls;
import org.apache.pekko.stream.TLSClosing;
import static io.troupe.errors.Failures.rootMessage;

import io.troupe.worker.checkpoint.Checkpoint;
import io.troupe.worker.checkpoint.CheckpointCodec;
import io.troupe.worker.checkpoint.CheckpointException;
import io.troupe.worker.checkpoint.CheckpointOrigin;
import io.troupe.worker.checkpoint.ConfigDiff;
import java.io.EOFException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.ClassicActorSystemProvider;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.SinkQueueWithCancel;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.stream.javadsl.Tcp;
import org.apache.pekko.util.ByteString;

/**
 * Fetches the training state from a peer's {@link StateServer}: connects, asks for a job's state
 * of a step, and decodes and verifies the checkpoint (CRC32C included) as its bytes arrive, so
 * that besides the decoded arrays it holds only one received buffer at a time.
 *
 * <p>Every failure is a {@link StateTransferException} whose subclass says what happened and
 * whose one-line message names the peer's address and the fix: {@link StatePeerException}
 * (refused or broken connection), {@link StateTimeoutException} (deadline),
 * {@link StateRefusedException} (the server said no), {@link StateProtocolException} (invalid or
 * corrupt bytes), {@link StateMismatchException} (another model config or step).
 *
 * <p>{@code fetch} blocks its thread for the transfer: from an actor, run it on a dispatcher for
 * blocking work and pipe the result to self.
 */
public final class StateClient {

    /** Asks for whichever step the server offers. */
    public static final long ANY_STEP = -1;

    private StateClient() {
    }

    /**
     * Fetches the state of {@code step} of {@code jobId} from the state server at {@code peer},
     * whatever its model config.
     *
     * @see #fetch(ClassicActorSystemProvider, InetSocketAddress, String, String, long, String, Duration)
     */
    public static Checkpoint fetch(ClassicActorSystemProvider system, InetSocketAddress peer,
            String jobId, String token, long step, Duration deadline)
            throws StateTransferException, InterruptedException {
        return fetch(system, peer, jobId, token, step, null, deadline);
    }

    /**
     * Fetches the state of {@code step} of {@code jobId} from the state server at {@code peer}
     * and checks that it was trained with {@code expectedConfig}.
     *
     * @param token the ring generation's state token, from the coordinator; a server refuses a
     *     request without the one it was told to admit
     * @param step the training step wanted, or {@link #ANY_STEP}
     * @param expectedConfig the config this worker trains with (compared as in checkpoint
     *     resumes: JSON trees, key order and number formatting aside); null accepts any
     * @param deadline the most the whole fetch may take: connecting, the server's answer, the
     *     transfer and the decoding
     * @return the checkpoint, verified, of the step asked for (or the step offered, for
     *     {@link #ANY_STEP})
     * @throws StateTransferException (a subclass) if the fetch failed; nothing was returned
     * @throws InterruptedException if the thread was interrupted while waiting
     * @throws IllegalArgumentException if the job id is empty or over 1024 bytes of UTF-8, the
     *     step is below {@link #ANY_STEP}, or the deadline is not positive
     */
    public static Checkpoint fetch(ClassicActorSystemProvider system, InetSocketAddress peer,
            String jobId, String token, long step, String expectedConfig, Duration deadline)
            throws StateTransferException, InterruptedException {
        return fetch(system, peer, jobId, token, step, expectedConfig, deadline, Optional.empty());
    }

    /** Room for a state's config, tokenizer and sampler states besides its parameters and moments. */
    static final long MAX_STATE_OVERHEAD_BYTES = 256L << 20;

    /**
     * The most bytes the encoded state of a model of {@code parameters} parameters can take:
     * parameters and both AdamW moments (12 bytes each), the header and trailer, and
     * {@value #MAX_STATE_OVERHEAD_BYTES} bytes for the rest. A peer that announces more is lying.
     */
    public static long maxStateBytes(long parameters) {
        return 12 * parameters + 256 + MAX_STATE_OVERHEAD_BYTES;
    }

    /**
     * {@link #fetch(ClassicActorSystemProvider, InetSocketAddress, String, String, long, String, Duration)}
     * over TLS when {@code tls} is given, presenting this node's cluster certificate.
     */
    public static Checkpoint fetch(ClassicActorSystemProvider system, InetSocketAddress peer,
            String jobId, String token, long step, String expectedConfig, Duration deadline, Optional<ClusterTls> tls)
            throws StateTransferException, InterruptedException {
        return fetch(system, peer, jobId, token, step, expectedConfig, deadline, tls, Long.MAX_VALUE);
    }

    /**
     * {@link #fetch(ClassicActorSystemProvider, InetSocketAddress, String, String, long, String, Duration, Optional)}
     * that refuses, before allocating anything, a state announced larger than {@code maxBytes}
     * (see {@link #maxStateBytes}): the decoder sizes its arrays from the announced header.
     */
    public static Checkpoint fetch(ClassicActorSystemProvider system, InetSocketAddress peer,
            String jobId, String token, long step, String expectedConfig, Duration deadline, Optional<ClusterTls> tls,
            long maxBytes)
            throws StateTransferException, InterruptedException {
        Objects.requireNonNull(tls, "tls");
        Objects.requireNonNull(system, "system");
        Objects.requireNonNull(peer, "peer");
        Objects.requireNonNull(jobId, "jobId");
        Objects.requireNonNull(deadline, "deadline");
        if (deadline.isNegative() || deadline.isZero()) {
            throw new IllegalArgumentException("deadline must be positive, got " + deadline);
        }
        if (step < ANY_STEP) {
            throw new IllegalArgumentException("step must be >= 0 or ANY_STEP, got " + step);
        }
        ByteString request = TransferProtocol.request(jobId, step, token);
        long deadlineNanos = System.nanoTime() + deadline.toNanos();

        Flow<ByteString, ByteString, CompletionStage<Tcp.OutgoingConnection>> connection =
                tls.isEmpty()
                        ? Tcp.get(system).outgoingConnection(peer, Optional.empty(), List.of(), true,
                                Optional.of(deadline), Optional.empty())
                        : Tcp.get(system).outgoingConnectionWithTls(peer,
                                () -> tls.get().clientEngine(peer.getHostString(), peer.getPort()), Optional.empty(),
                                List.of(), Optional.of(deadline), Optional.empty(), session -> Optional.empty(),
                                TLSClosing.eagerClose());
        // The request, then silence until the transfer ends: the sending side stays open, since
        // a finished one would half-close the connection under the server's answer.
        Pair<Pair<CompletableFuture<Optional<ByteString>>, CompletionStage<Tcp.OutgoingConnection>>,
                SinkQueueWithCancel<ByteString>> running = Source.single(request)
                .concatMat(Source.<ByteString>maybe(), Keep.right())
                .viaMat(connection, Keep.both())
                .toMat(Sink.queue(), Keep.both())
                .run(Materializer.matFromSystem(system));
        ResponseChannel channel = new ResponseChannel(running.second(), deadlineNanos);
        try {
            return new Fetch(peer, jobId, step, deadline, deadlineNanos, running.first().second(),
                    channel)
                    .run(expectedConfig, maxBytes);
        } finally {
            running.first().first().complete(Optional.empty());
            channel.close();
        }
    }

    /** One fetch's reading and checking, and the messages that name how far it got. */
    private static final class Fetch {

        private final InetSocketAddress peer;
        private final String server;
        private final String jobId;
        private final long step;
        private final Duration deadline;
        private final long deadlineNanos;
        private final CompletableFuture<Tcp.OutgoingConnection> connected;
        private final ResponseChannel channel;
        /** Bytes of the state announced by the server; -1 until its answer arrived. */
        private long announced = -1;

        Fetch(InetSocketAddress peer, String jobId, long step, Duration deadline,
                long deadlineNanos, CompletionStage<Tcp.OutgoingConnection> connected, ResponseChannel channel) {
            this.peer = peer;
            this.server = "state server " + TransferProtocol.hostPort(peer);
            this.jobId = jobId;
            this.step = step;
            this.deadline = deadline;
            this.deadlineNanos = deadlineNanos;
            this.connected = connected.toCompletableFuture();
            this.channel = channel;
        }

        Checkpoint run(String expectedConfig, long maxBytes) throws StateTransferException, InterruptedException {
            try {
                ByteBuffer headerBytes = ByteBuffer.allocate(TransferProtocol.ANSWER_HEADER_BYTES);
                channel.readFully(headerBytes);
                TransferProtocol.AnswerHeader header =
                        TransferProtocol.parseAnswer(headerBytes, peer);
                if (header.status() != TransferProtocol.STATUS_OK) {
                    throw refused(header);
                }
                if (step != ANY_STEP && header.offeredStep() != step) {
                    throw new StateMismatchException(peer, server + " announced the state of step "
                            + header.offeredStep() + " but step " + step + " was asked; it breaks"
                            + " the protocol: fetch from another peer");
                }
                if (header.length() > maxBytes) {
                    throw new StateProtocolException(peer, server + " announced " + header.length()
                            + " bytes of state, more than the " + maxBytes + " this model's state can"
                            + " take; it breaks the protocol: fetch from another peer", null);
                }
                announced = header.length();
                Checkpoint checkpoint = CheckpointCodec.decode(channel, announced, origin());
                if (checkpoint.trainingStep() != header.offeredStep()) {
                    throw new StateMismatchException(peer, server + " announced the state of step "
                            + header.offeredStep() + " but sent step " + checkpoint.trainingStep()
                            + "; it offered a mislabelled checkpoint: fetch from another peer");
                }
                requireConfig(checkpoint, expectedConfig);
                return checkpoint;
            } catch (ResponseChannel.DeadlinePassed e) {
                throw timedOut();
            } catch (ResponseChannel.StreamFailed e) {
                throw failed(e.getCause());
            } catch (InterruptedIOException e) {
                throw new InterruptedException("interrupted while fetching the state from "
                        + server);
            } catch (EOFException e) {
                throw new StatePeerException(peer, server + " closed the connection " + progress()
                        + "; it stopped or was closed mid-transfer: fetch again or from another"
                        + " peer", e);
            } catch (IOException e) {
                throw new StatePeerException(peer, "reading from " + server + " failed "
                        + progress() + ": " + e + "; fetch again or from another peer", e);
            } catch (CheckpointException e) {
                throw new StateProtocolException(peer, e.getMessage(), e);
            }
        }

        private CheckpointOrigin origin() {
            return new CheckpointOrigin("the state from " + server,
                    "fetch it again, from another peer if it happens again",
                    "check that " + TransferProtocol.hostPort(peer) + " is a Troupe state server",
                    "run the same Troupe version on every worker and the coordinator");
        }

        private StateRefusedException refused(TransferProtocol.AnswerHeader header)
                throws IOException {
            ByteBuffer text = ByteBuffer.allocate((int) header.length());
            channel.readFully(text);
            String why = new String(text.array(), StandardCharsets.UTF_8);
            StateRefusedException.Reason reason =
                    StateRefusedException.Reason.ofCode(header.status());
            String fix = switch (reason) {
                case NO_STATE -> "ask again once it has offered its state, or ask another peer";
                case OTHER_STEP -> "ask for step " + header.offeredStep() + " (or ANY_STEP), or"
                        + " ask again once it offers step " + step;
                case OTHER_JOB -> "this worker and that peer are in different jobs: fetch from a"
                        + " peer of job \"" + jobId + "\"";
                case BAD_REQUEST -> "run the same Troupe version on every worker and the"
                        + " coordinator";
                case NOT_ADMITTED -> "its ring generation has changed since the token was issued, or this"
                        + " process is not a worker of the job: wait for the coordinator's next ring";
            };
            return new StateRefusedException(peer, reason, header.offeredStep(),
                    server + " refused: " + why + "; " + fix);
        }

        private void requireConfig(Checkpoint checkpoint, String expectedConfig)
                throws StateMismatchException {
            if (expectedConfig == null) {
                return;
            }
            List<String> differences = ConfigDiff.differences(checkpoint.config(), expectedConfig);
            if (!differences.isEmpty()) {
                throw new StateMismatchException(peer, server + " trains another model config ("
                        + ConfigDiff.summary(differences) + "); fetch from a peer of this job, or"
                        + " start this worker with that config");
            }
        }

        private StateTransferException timedOut() {
            String what = !isConnected() ? "accept the connection"
                    : announced < 0 ? "answer" : "send the whole state";
            return new StateTimeoutException(peer, server + " did not " + what + " within the"
                    + " deadline of " + deadline.toMillis() + " ms (" + progress() + "); check"
                    + " that the peer is alive and not overloaded, or allow a longer deadline");
        }

        private StateTransferException failed(Throwable cause) {
            if (System.nanoTime() - deadlineNanos >= 0) {
                return timedOut(); // e.g. Pekko's connect timeout, which is the deadline
            }
            if (!isConnected()) {
                return new StatePeerException(peer, "cannot connect to " + server + ": "
                        + rootMessage(cause) + "; check that the peer is running and serving"
                        + " its state on that address", cause);
            }
            return new StatePeerException(peer, "the connection to " + server + " failed "
                    + progress() + ": " + rootMessage(cause) + "; fetch again or from another"
                    + " peer", cause);
        }

        private boolean isConnected() {
            return connected.isDone() && !connected.isCompletedExceptionally();
        }

        private String progress() {
            if (announced < 0) {
                return "before it answered";
            }
            long payload = channel.received() - TransferProtocol.ANSWER_HEADER_BYTES;
            return "after " + payload + " of " + announced + " bytes";
        }
    }
}
