package io.troupe.worker.allreduce;

import java.net.InetSocketAddress;
import java.nio.FloatBuffer;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import io.troupe.worker.tls.ClusterTls;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.ClassicActorSystemProvider;
import org.apache.pekko.io.Inet;
import org.apache.pekko.io.TcpSO;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.ActorAttributes;
import org.apache.pekko.stream.Attributes;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.TLSClosing;
import org.apache.pekko.stream.ThrottleMode;
import org.apache.pekko.stream.javadsl.BidiFlow;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.stream.javadsl.Tcp;
import org.apache.pekko.util.ByteString;

/**
 * One member of a ring all-reduce over Pekko Streams TCP: it averages a flat float buffer with the
 * same-sized buffers of its N-1 peers, every call, in place.
 *
 * <p>Lifecycle, explicit so that whoever forms the ring (a coordinator, a test) decides who
 * follows whom:
 * <ol>
 *   <li>{@link #bind} opens this member's server socket (port 0 picks a free port) and returns at
 *       once; {@link #localAddress()} is the address to give to the predecessor;</li>
 *   <li>{@link #connect} connects to the successor (rank+1 mod N); its stage completes when both
 *       neighbours are connected and the predecessor's handshake matched this member's rank,
 *       world size and settings;</li>
 *   <li>{@link #allReduceMean} (or {@link #allReduceMeanAndWait}) on every member with the same
 *       step id and buffer size, as often as needed, one call at a time;</li>
 *   <li>{@link #close}.</li>
 * </ol>
 * A ring of one needs no network: {@code connect} and {@code allReduceMean} return at once.
 *
 * <p>Each member uses the data plane's own TCP connections (never Artery), and any number of
 * members may share one ActorSystem or have one each. On a system configured with
 * {@link DataPlaneConfig#recommended()}, the member's streams run on the data-plane dispatcher. A failed all-reduce (deadline, a neighbour
 * gone, a protocol error) leaves the member unusable; close it and form a new ring.
 *
 * <p>Threading: the returned stages complete on the member's stream thread; a caller that does
 * more than a little work on completion should continue asynchronously on its own executor.
 */
public final class RingAllReduce implements AutoCloseable {

    /** How long {@link #close} waits for the connections to shut down. */
    private static final Duration CLOSE_WAIT = Duration.ofSeconds(5);
    /** Slack after the deadline before the caller's stage fails even if the member's stream is wedged. */
    private static final long WEDGED_GRACE_MILLIS = 2_000;

    private final int rank;
    private final int worldSize;
    private final RingSettings settings;
    private final Tcp.ServerBinding binding;
    private final RingControl control;
    private final CompletableFuture<InetSocketAddress> successorAddress;
    private final AtomicBoolean connectCalled = new AtomicBoolean();
    private final AtomicBoolean closed = new AtomicBoolean();

    private RingAllReduce(int rank, int worldSize, RingSettings settings, Tcp.ServerBinding binding,
                          RingControl control, CompletableFuture<InetSocketAddress> successorAddress) {
        this.rank = rank;
        this.worldSize = worldSize;
        this.settings = settings;
        this.binding = binding;
        this.control = control;
        this.successorAddress = successorAddress;
    }

    /**
     * Creates rank {@code rank} of a ring of {@code worldSize} and opens its server socket on
     * {@code bindAddress} (e.g. {@code 127.0.0.1:0}). Blocks until the socket is bound, at most the
     * settings' connect timeout.
     *
     * @throws RingException if the address cannot be bound (e.g. the port is already in use)
     */
    public static RingAllReduce bind(ClassicActorSystemProvider system, int rank, int worldSize,
                                     InetSocketAddress bindAddress, RingSettings settings) throws RingException {
        return bind(system, rank, worldSize, bindAddress, settings, RingAdmission.open());
    }

    /**
     * {@link #bind(ClassicActorSystemProvider, int, int, InetSocketAddress, RingSettings)} for a
     * ring whose members hold {@code admission}'s token: only a connection that presents it can
     * become this member's predecessor, and this member presents it to its successor.
     */
    public static RingAllReduce bind(ClassicActorSystemProvider system, int rank, int worldSize,
                                     InetSocketAddress bindAddress, RingSettings settings, RingAdmission admission)
            throws RingException {
        return bind(system, rank, worldSize, bindAddress, settings, admission, Optional.empty());
    }

    /**
     * {@link #bind(ClassicActorSystemProvider, int, int, InetSocketAddress, RingSettings, RingAdmission)}
     * over TLS when {@code tls} is given: both of this member's connections are mutually
     * authenticated with the cluster's certificates, so a process without one fails its
     * handshake before it can send a byte of preamble (and is dropped alone, as any intruder).
     */
    public static RingAllReduce bind(ClassicActorSystemProvider system, int rank, int worldSize,
                                     InetSocketAddress bindAddress, RingSettings settings, RingAdmission admission,
                                     Optional<ClusterTls> tls)
            throws RingException {
        Objects.requireNonNull(admission, "admission");
        Objects.requireNonNull(tls, "tls");
        Objects.requireNonNull(system, "system");
        Objects.requireNonNull(bindAddress, "bindAddress");
        Objects.requireNonNull(settings, "settings");
        if (worldSize < 1 || rank < 0 || rank >= worldSize) {
            throw new IllegalArgumentException("rank must be in [0, worldSize) and worldSize >= 1, got rank "
                    + rank + " of " + worldSize);
        }
        if (bindAddress.isUnresolved()) {
            throw new IllegalArgumentException("cannot resolve the bind address " + bindAddress.getHostString());
        }
        Materializer materializer = Materializer.matFromSystem(system);
        Tcp tcp = Tcp.get(system);
        Attributes dispatcher = DataPlaneConfig.definesDispatcher(system.classicSystem().settings().config())
                ? ActorAttributes.dispatcher(DataPlaneConfig.DISPATCHER) : Attributes.none();
        List<Inet.SocketOption> options = socketOptions(settings);

        // The first connection that presents this generation's token is the predecessor (see
        // PredecessorGate); any other is closed alone: a member has exactly one predecessor.
        PredecessorGate gate = new PredecessorGate(admission, rank, settings.connectTimeout(), materializer, dispatcher);
        Source<Tcp.IncomingConnection, CompletionStage<Tcp.ServerBinding>> incoming = tls.isEmpty()
                ? tcp.bind(bindAddress.getHostString(), bindAddress.getPort(), 16, options, false, Optional.empty())
                : tcp.bindWithTls(bindAddress.getHostString(), bindAddress.getPort(), tls.get()::serverEngine, 16,
                        options, Optional.empty(), session -> Optional.empty(), TLSClosing.eagerClose());
        CompletionStage<Tcp.ServerBinding> bound = incoming
                .to(Sink.foreach(gate::offer))
                .withAttributes(dispatcher)
                .run(materializer);
        Tcp.ServerBinding binding = awaitBinding(bound, rank, bindAddress, settings.connectTimeout());

        CompletableFuture<InetSocketAddress> successor = new CompletableFuture<>();
        RingControl control = worldSize == 1 ? null
                : startRing(tcp, materializer, dispatcher, options, rank, worldSize, settings, binding.localAddress(),
                        gate, admission, successor, tls);
        return new RingAllReduce(rank, worldSize, settings, binding, control, successor);
    }

    private static RingControl startRing(Tcp tcp, Materializer materializer, Attributes dispatcher, List<Inet.SocketOption> options,
                                         int rank, int worldSize, RingSettings settings, InetSocketAddress local,
                                         PredecessorGate gate, RingAdmission admission,
                                         CompletableFuture<InetSocketAddress> successor, Optional<ClusterTls> tls) {
        Flow<ByteString, ByteString, CompletionStage<Object>> predecessorFlow =
                Flow.completionStageFlow(gate.admitted().thenApply(a -> a.flow().mapMaterializedValue(m -> (Object) m)));
        // The successor's gate reads the preamble first, then the ring's handshake follows.
        Flow<ByteString, ByteString, CompletionStage<CompletionStage<Tcp.OutgoingConnection>>> successorFlow =
                Flow.completionStageFlow(successor.thenApply(address -> throttled(Flow.<ByteString>create(), settings)
                        .prepend(Source.single(admission.preamble()))
                        .viaMat(tls.isEmpty()
                                ? tcp.outgoingConnection(address, Optional.empty(), options, false,
                                        Optional.of(settings.connectTimeout()), Optional.empty())
                                : tcp.outgoingConnectionWithTls(address,
                                        () -> tls.get().clientEngine(address.getHostString(), address.getPort()),
                                        Optional.empty(), options, Optional.of(settings.connectTimeout()),
                                        Optional.empty(), session -> Optional.empty(), TLSClosing.eagerClose()),
                                Keep.right())));
        Flow<ByteString, ByteString, Pair<RingControl, CompletionStage<CompletionStage<Tcp.OutgoingConnection>>>> ring =
                BidiFlow.fromGraph(new RingStage(rank, worldSize, settings, local)).join(successorFlow, Pair::create);
        // No Framing stage in between: RingStage reads frames straight from the TCP buffers (see FrameReader).
        Pair<RingControl, CompletionStage<CompletionStage<Tcp.OutgoingConnection>>> materialized = predecessorFlow
                .joinMat(ring, Keep.right())
                .withAttributes(dispatcher)
                .run(materializer);
        RingControl control = materialized.first();
        gate.admitted().thenAccept(a -> control.predecessorAccepted(a.remote()));
        // A failed connect reaches the stage through the connection's stream as well, with the cause.
        materialized.second().thenComposeAsync(connecting -> connecting, Runnable::run) // as in RingControl.start
                .thenAccept(connection -> control.successorConnected());
        return control;
    }

    /**
     * What this member sends, through a token bucket of {@code sendLimitBytesPerSecond} when the
     * settings set one (a simulated slow link). The bucket holds a quarter second of bytes, so a
     * frame waits until the link would have carried it, and an idle link saves little credit.
     */
    private static Flow<ByteString, ByteString, NotUsed> throttled(Flow<ByteString, ByteString, NotUsed> flow,
                                                                 RingSettings settings) {
        long rate = settings.sendLimitBytesPerSecond();
        Flow<ByteString, ByteString, NotUsed> counted = flow.map(b -> {
            WireBytes.add(b.size());
            return b;
        });
        if (rate == 0) {
            return counted;
        }
        int burst = (int) Math.max(1, rate / 4);
        return counted.throttle((int) rate, Duration.ofSeconds(1), burst, ByteString::size, ThrottleMode.shaping());
    }

    private static Tcp.ServerBinding awaitBinding(CompletionStage<Tcp.ServerBinding> bound, int rank,
                                                  InetSocketAddress address, Duration timeout) throws RingException {
        String where = RingStage.hostPort(address);
        try {
            return bound.toCompletableFuture().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            String reason = cause.getCause() != null ? cause.getCause().getMessage() : cause.getMessage();
            throw new RingException("ring member rank " + rank + " cannot listen on " + where + ": " + reason
                    + (address.getPort() != 0 ? " (is another process using port " + address.getPort() + "? port 0 picks a free one)" : ""),
                    cause);
        } catch (TimeoutException e) {
            bound.thenAccept(Tcp.ServerBinding::unbind); // should it bind after all, free the port
            throw new RingException("ring member rank " + rank + " could not bind " + where + " within " + timeout.toMillis() + " ms", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RingException("interrupted while binding " + where, e);
        }
    }

    private static List<Inet.SocketOption> socketOptions(RingSettings settings) {
        if (settings.socketBufferBytes() == 0) {
            return List.of();
        }
        return List.of(TcpSO.sendBufferSize(settings.socketBufferBytes()), TcpSO.receiveBufferSize(settings.socketBufferBytes()));
    }

    /** This member's rank, 0 .. worldSize-1. */
    public int rank() {
        return rank;
    }

    /** How many members the ring has. */
    public int worldSize() {
        return worldSize;
    }

    /** The settings every member of this ring must share. */
    public RingSettings settings() {
        return settings;
    }

    /** The address this member listens on (with the real port when bound to port 0): give it to the predecessor. */
    public InetSocketAddress localAddress() {
        return binding.localAddress();
    }

    /**
     * Connects to the successor (rank+1 mod N), listening at {@code successor}. The stage completes
     * when this member is ready for {@link #allReduceMean}: both neighbours connected and the
     * predecessor's handshake accepted; it fails with a {@link RingException} naming the neighbour
     * if that takes longer than the connect timeout, the successor refuses the connection, or the
     * predecessor turns out to be of another ring or to use other settings. Call it once.
     */
    public CompletionStage<Void> connect(InetSocketAddress successor) {
        Objects.requireNonNull(successor, "successor");
        if (!connectCalled.compareAndSet(false, true)) {
            throw new IllegalStateException("connect() was already called on ring member rank " + rank);
        }
        if (control == null) {
            return CompletableFuture.completedFuture(null);
        }
        control.connecting(successor);
        successorAddress.complete(successor);
        return control.ready().copy();
    }

    /**
     * Replaces the elements of {@code buffer} from its position to its limit by their mean over all
     * members (sum, then times 1/N), in place; position and limit are left as they are. Every member
     * must call it with the same {@code stepId} and the same number of elements. The buffer must
     * not be touched until the returned stage completes. Direct buffers avoid a copy.
     *
     * <p>With the fp32 wire format every member ends with bit-identical values; with bf16 too (the
     * values are then bf16-rounded, see {@link WireFormat#BF16}).
     *
     * @param deadline the most the call may take, including the wait for the slowest member to
     *     start the same step; past it the stage fails with a {@link RingTimeoutException} naming
     *     the neighbour this member was waiting for
     * @return a stage that completes when the buffer holds the mean, or fails with a
     *     {@link RingException} (and then this member is unusable)
     */
    public CompletionStage<Void> allReduceMean(FloatBuffer buffer, long stepId, Duration deadline) {
        Objects.requireNonNull(buffer, "buffer");
        Objects.requireNonNull(deadline, "deadline");
        if (buffer.isReadOnly()) {
            throw new IllegalArgumentException("the all-reduce writes the mean into the buffer, which is read-only");
        }
        if (deadline.isNegative() || deadline.isZero()) {
            throw new IllegalArgumentException("deadline must be positive, got " + deadline);
        }
        if (control == null) {
            return CompletableFuture.completedFuture(null); // the mean of one buffer is itself
        }
        CompletableFuture<Void> done = new CompletableFuture<>();
        control.start(new StepRequest(buffer.slice(), stepId, System.nanoTime() + deadline.toNanos(), done));
        // The stage enforces the deadline itself; this only catches a stream that stopped responding.
        CompletableFuture<Void> result = new CompletableFuture<>();
        done.orTimeout(deadline.toMillis() + WEDGED_GRACE_MILLIS, TimeUnit.MILLISECONDS).whenComplete((ok, error) -> {
            if (error == null) {
                result.complete(null);
            } else if (error instanceof TimeoutException) {
                result.completeExceptionally(new RingTimeoutException(null, "ring member rank " + rank + ", step " + stepId
                        + ": the data-plane stream did not respond within the deadline of " + deadline.toMillis() + " ms"));
            } else {
                result.completeExceptionally(error);
            }
        });
        return result;
    }

    /**
     * {@link #allReduceMean}, waiting for it.
     *
     * @throws RingException if the all-reduce failed (the member is then unusable)
     * @throws IllegalStateException if the member is not connected or another call is running
     */
    public void allReduceMeanAndWait(FloatBuffer buffer, long stepId, Duration deadline)
            throws RingException, InterruptedException {
        await(allReduceMean(buffer, stepId, deadline));
    }

    /** Waits for a stage of this API, rethrowing its {@link RingException} or unchecked failure. */
    static void await(CompletionStage<Void> stage) throws RingException, InterruptedException {
        try {
            stage.toCompletableFuture().get();
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof RingException ring) {
                throw ring;
            }
            if (cause instanceof RuntimeException unchecked) {
                throw unchecked;
            }
            throw new RingException("all-reduce failed: " + cause, cause);
        }
    }

    /** Why this member stopped working, or null while it is healthy. */
    public RingException failure() {
        return control == null ? null : control.failure();
    }

    /**
     * Closes both connections and the server socket; a running all-reduce fails. The neighbours see
     * their connection close and fail in turn. Waits a few seconds at most; safe to call twice.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        CompletableFuture<?> stopped = CompletableFuture.completedFuture(null);
        if (control != null) {
            control.stop();
            // A member closed before connect() would otherwise keep its outgoing flow waiting.
            successorAddress.cancel(false);
            stopped = control.terminated();
        }
        CompletableFuture<?> unbound = binding.unbind().toCompletableFuture();
        try {
            CompletableFuture.allOf(stopped, unbound).get(CLOSE_WAIT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            // Closing is best effort: the connections are aborted with the ActorSystem at the latest.
        }
    }
}
