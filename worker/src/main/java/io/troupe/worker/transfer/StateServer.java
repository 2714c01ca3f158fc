package io.troupe.worker.transfer;

import io.troupe.worker.tls.ClusterTls;
import org.apache.pekko.stream.TLSClosing;
import org.apache.pekko.stream.javadsl.Source;
import io.troupe.worker.checkpoint.Checkpoint;
import io.troupe.worker.checkpoint.CheckpointCodec;
import java.net.InetSocketAddress;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.ClassicActorSystemProvider;
import org.apache.pekko.stream.KillSwitches;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.SharedKillSwitch;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Framing;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Tcp;
import org.apache.pekko.util.ByteString;

/**
 * Serves one training state (a {@link Checkpoint}, encoded once) to peers over Pekko Streams TCP,
 * on the data plane rather than Pekko remoting, whose messages are limited to a few megabytes. A
 * live worker offers its state for a worker that joins or falls behind; the coordinator offers a
 * checkpoint from disk when it resumes a job. Clients use {@link StateClient#fetch}.
 *
 * <p>Any number of clients may fetch at once. Each gets the state in chunks as fast as its
 * connection drains them (TCP backpressure), all from the one offered array. The wire format is
 * in {@code TransferProtocol}.
 *
 * <p>Deadlines on the server side too, so that a broken client never holds a connection: a client
 * must send its request within {@value #REQUEST_TIMEOUT_SECONDS} s of connecting, and must keep
 * reading; one that takes nothing for {@value #STALL_TIMEOUT_SECONDS} s is disconnected.
 *
 * <p>Thread-safe: {@link #offer} and {@link #withdraw} may be called from any thread, at any
 * time; a transfer that started finishes with the state it started with.
 */
public final class StateServer implements AutoCloseable {

    static final long REQUEST_TIMEOUT_SECONDS = 10;
    static final long STALL_TIMEOUT_SECONDS = 60;
    private static final Duration BIND_TIMEOUT = Duration.ofSeconds(10);
    private static final Duration CLOSE_WAIT = Duration.ofSeconds(5);
    private static final int BACKLOG = 64;

    private final String owner;
    private final StateOffer offer;
    private final Tcp.ServerBinding binding;
    private final SharedKillSwitch transfers;
    private final AtomicBoolean closed = new AtomicBoolean();

    private StateServer(String owner, StateOffer offer, Tcp.ServerBinding binding,
            SharedKillSwitch transfers) {
        this.owner = owner;
        this.offer = offer;
        this.binding = binding;
        this.transfers = transfers;
    }

    /**
     * Opens a state server on {@code bindAddress} (port 0 picks a free port), with nothing
     * offered yet. Blocks until the socket is bound, at most 10 s.
     *
     * @param owner who serves, as refusals name it (e.g. {@code "rank 3"}, {@code "coordinator"})
     * @throws StateTransferException if the address cannot be bound (e.g. the port is in use)
     */
    public static StateServer bind(ClassicActorSystemProvider system, InetSocketAddress bindAddress,
            String owner) throws StateTransferException {
        return bind(system, bindAddress, owner, Optional.empty());
    }

    /**
     * {@link #bind(ClassicActorSystemProvider, InetSocketAddress, String)} over TLS when
     * {@code tls} is given: a client must present a certificate of the cluster CA, so a process
     * without one cannot read a byte of the state.
     */
    public static StateServer bind(ClassicActorSystemProvider system, InetSocketAddress bindAddress,
            String owner, Optional<ClusterTls> tls) throws StateTransferException {
        Objects.requireNonNull(tls, "tls");
        Objects.requireNonNull(system, "system");
        Objects.requireNonNull(bindAddress, "bindAddress");
        Objects.requireNonNull(owner, "owner");
        if (bindAddress.isUnresolved()) {
            throw new IllegalArgumentException("cannot resolve the bind address "
                    + bindAddress.getHostString());
        }
        Materializer materializer = Materializer.matFromSystem(system);
        StateOffer offer = new StateOffer(owner);
        SharedKillSwitch transfers = KillSwitches.shared("state-server-" + owner);
        Flow<ByteString, ByteString, NotUsed> handler = Flow.of(ByteString.class)
                .via(Framing.lengthField(TransferProtocol.LENGTH_PREFIX_BYTES, 0,
                        TransferProtocol.MAX_REQUEST_BYTES, ByteOrder.LITTLE_ENDIAN))
                .initialTimeout(Duration.ofSeconds(REQUEST_TIMEOUT_SECONDS))
                .take(1) // one request per connection; the connection closes after the answer
                .flatMapConcat(offer::answer)
                .idleTimeout(Duration.ofSeconds(STALL_TIMEOUT_SECONDS))
                .via(transfers.flow());
        // Half-close on: the reading side ends after the request (take(1), or the client finished
        // sending), which must not close the connection under the answer, as it does with
        // half-close off. Over TLS the same is ignoreCancel: the request side's cancellation
        // leaves the session open until the answer is complete.
        Source<Tcp.IncomingConnection, CompletionStage<Tcp.ServerBinding>> incoming = tls.isEmpty()
                ? Tcp.get(system).bind(bindAddress.getHostString(), bindAddress.getPort(), BACKLOG, List.of(),
                        true, Optional.empty())
                : Tcp.get(system).bindWithTls(bindAddress.getHostString(), bindAddress.getPort(),
                        tls.get()::serverEngine, BACKLOG, List.of(), Optional.empty(), session -> Optional.empty(),
                        org.apache.pekko.stream.TLSClosing$.MODULE$.ignoreCancel()); // (Scala object: no static forwarder)
        CompletionStage<Tcp.ServerBinding> bound = incoming
                .to(Sink.foreach(connection -> connection.handleWith(handler, materializer)))
                .run(materializer);
        return new StateServer(owner, offer, awaitBinding(bound, owner, bindAddress), transfers);
    }

    private static Tcp.ServerBinding awaitBinding(CompletionStage<Tcp.ServerBinding> bound,
            String owner, InetSocketAddress address) throws StateTransferException {
        String where = TransferProtocol.hostPort(address);
        try {
            return bound.toCompletableFuture().get(BIND_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            String reason = cause.getCause() != null ? cause.getCause().getMessage()
                    : cause.getMessage();
            throw new StateTransferException("the state server of " + owner + " cannot listen on "
                    + where + ": " + reason + (address.getPort() != 0 ? " (is another process"
                    + " using port " + address.getPort() + "? port 0 picks a free one)" : ""),
                    cause);
        } catch (TimeoutException e) {
            bound.thenAccept(Tcp.ServerBinding::unbind); // should it bind after all, free the port
            throw new StateTransferException("the state server of " + owner + " could not bind "
                    + where + " within " + BIND_TIMEOUT.toMillis() + " ms", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new StateTransferException("interrupted while binding " + where, e);
        }
    }

    /**
     * Encodes {@code checkpoint} once and serves it as the state of its training step, replacing
     * what was offered. The arrays are encoded here, into a copy that is served, so the caller
     * may change them (go on training) as soon as this returns.
     *
     * @throws IllegalArgumentException if the job id is empty or over 1024 bytes of UTF-8, or the
     *     checkpoint encodes to more than the 2 GiB an array can hold
     */
    public void offer(String jobId, Checkpoint checkpoint) {
        offer.offer(jobId, checkpoint.trainingStep(), CheckpointCodec.encode(checkpoint));
    }

    /**
     * Serves {@code encoded}, an encoded checkpoint (e.g. a checkpoint file's bytes, read
     * without decoding), as the state of {@code step}, replacing what was offered. The array is
     * shared with every transfer, not copied: do not change it afterwards. Its checksum is not
     * verified here; clients verify it.
     *
     * @throws IllegalArgumentException if the bytes do not start with a checkpoint header, their
     *     header holds another step than {@code step}, or the job id is empty or too long
     */
    public void offer(String jobId, long step, byte[] encoded) {
        long stored = CheckpointCodec.trainingStep(Objects.requireNonNull(encoded, "encoded"));
        if (stored != step) {
            throw new IllegalArgumentException("the encoded checkpoint holds step " + stored
                    + " but is offered as step " + step);
        }
        offer.offer(jobId, step, encoded);
    }

    /**
     * Serves the offered state only to requests that present {@code token} from now on (the ring
     * generation's state token, from the coordinator); a server admits nobody until this is
     * called, and a token admitted before is refused afterwards. A running transfer finishes.
     *
     * @throws IllegalArgumentException if the token is empty or over 128 bytes of UTF-8
     */
    public void admit(String token) {
        offer.admit(token);
    }

    /**
     * Stops serving the offered state: later requests are refused with "no state offered".
     * Transfers already running finish.
     */
    public void withdraw() {
        offer.withdraw();
    }

    /** The address the server listens on, with the real port when bound to port 0. */
    public InetSocketAddress address() {
        return binding.localAddress();
    }

    /** Who serves, as refusals name it. */
    public String owner() {
        return owner;
    }

    /**
     * Unbinds the server and ends running transfers (their clients see the connection close
     * early). Waits a few seconds at most; safe to call twice.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        offer.withdraw();
        transfers.shutdown();
        try {
            binding.unbind().toCompletableFuture().get(CLOSE_WAIT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            // Best effort: the socket is closed with the ActorSystem at the latest.
        }
    }
}
