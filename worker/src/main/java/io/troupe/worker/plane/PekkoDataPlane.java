package io.troupe.worker.plane;

import io.troupe.worker.allreduce.RingAdmission;
import io.troupe.worker.allreduce.RingAllReduce;
import io.troupe.worker.allreduce.RingException;
import io.troupe.worker.allreduce.RingSettings;
import io.troupe.worker.allreduce.WireFormat;
import io.troupe.worker.checkpoint.Checkpoint;
import io.troupe.worker.job.GradientReducer;
import io.troupe.worker.transfer.StateClient;
import io.troupe.worker.transfer.StateServer;
import io.troupe.worker.transfer.StateTransferException;
import io.troupe.worker.job.ReductionException;
import java.net.InetSocketAddress;
import java.nio.FloatBuffer;
import java.time.Duration;
import java.util.Optional;
import io.troupe.worker.tls.ClusterTls;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.ClassicActorSystemProvider;

/**
 * The data plane over Pekko Streams TCP: a {@link RingAllReduce} per ring, and one
 * {@link StateServer} per worker for handing its training state to peers.
 */
public final class PekkoDataPlane implements DataPlane {
    private final ClassicActorSystemProvider system;
    private final String host;
    private final RingSettings settings;
    private final Duration deadline;
    private final Optional<ClusterTls> tls;
    private StateExchange exchange;

    /**
     * @param deadline how long one all-reduce may take before the step fails naming the peer
     */
    public PekkoDataPlane(ClassicActorSystemProvider system, String host, RingSettings settings, Duration deadline) {
        this(system, host, settings, deadline, Optional.empty());
    }

    /**
     * @param deadline how long one all-reduce may take before the step fails naming the peer
     * @param tls given: the ring and the state transfer run over mutually authenticated TLS
     */
    public PekkoDataPlane(ClassicActorSystemProvider system, String host, RingSettings settings, Duration deadline,
                          Optional<ClusterTls> tls) {
        this.tls = java.util.Objects.requireNonNull(tls, "tls");
        this.system = system;
        this.host = host;
        this.settings = settings;
        this.deadline = deadline;
    }

    @Override
    public String host() {
        return host;
    }

    @Override
    public String admissionKey() {
        return settings.admissionKey();
    }

    @Override
    public RingLink bind(String jobId, int rank, int worldSize, WireFormat wire, RingAdmission admission)
            throws ReductionException {
        RingAllReduce ring;
        try {
            ring = RingAllReduce.bind(system, rank, worldSize, new InetSocketAddress(host, 0), settings.withWire(wire),
                    admission, tls);
        } catch (RingException e) {
            throw new ReductionException(e.getMessage(), e);
        }
        return new Link(ring);
    }

    @Override
    public synchronized StateExchange stateExchange() throws ReductionException {
        if (exchange == null) {
            try {
                StateServer server = StateServer.bind(system, new InetSocketAddress(host, 0), "worker on " + host, tls);
                exchange = new Exchange(server);
            } catch (StateTransferException e) {
                throw new ReductionException(e.getMessage(), e);
            }
        }
        return exchange;
    }

    /** The state server, and fetches from peers within the data plane's deadline. */
    private final class Exchange implements StateExchange {
        private final StateServer server;

        Exchange(StateServer server) {
            this.server = server;
        }

        @Override
        public InetSocketAddress address() {
            return server.address();
        }

        @Override
        public void offer(String jobId, long step, Checkpoint state) {
            if (state.trainingStep() != step) {
                throw new IllegalArgumentException("a state of step " + state.trainingStep() + " offered as step " + step);
            }
            server.offer(jobId, state);
        }

        @Override
        public void admit(String token) {
            server.admit(token);
        }

        @Override
        public Checkpoint fetch(InetSocketAddress from, String jobId, String token, long step, String identity,
                                long parameters) throws StateTransferException, InterruptedException {
            return StateClient.fetch(system, from, jobId, token, step, identity, deadline, tls,
                    StateClient.maxStateBytes(parameters));
        }

        @Override
        public void close() {
            server.close();
        }
    }

    private final class Link implements RingLink {
        private final RingAllReduce ring;

        Link(RingAllReduce ring) {
            this.ring = ring;
        }

        @Override
        public InetSocketAddress address() {
            return ring.localAddress();
        }

        @Override
        public void connect(InetSocketAddress successor) throws ReductionException {
            try {
                ring.connect(successor).toCompletableFuture()
                        .get(settings.connectTimeout().toMillis() + 1000, TimeUnit.MILLISECONDS);
            } catch (java.util.concurrent.ExecutionException | CompletionException e) {
                Throwable cause = e.getCause() != null ? e.getCause() : e;
                throw new ReductionException("rank " + ring.rank() + " cannot connect to its ring successor "
                        + successor + ": " + cause.getMessage(), cause);
            } catch (java.util.concurrent.TimeoutException e) {
                throw new ReductionException("rank " + ring.rank() + " timed out connecting to its ring successor "
                        + successor, e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new ReductionException("interrupted while connecting to " + successor, e);
            }
        }

        @Override
        public void allReduceMean(FloatBuffer gradients, long step) throws ReductionException {
            try {
                ring.allReduceMeanAndWait(gradients, step, deadline);
            } catch (RingException e) {
                throw new ReductionException(e.getMessage(), e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new ReductionException("interrupted during the all-reduce of step " + step, e);
            }
        }

        @Override
        public void close() {
            ring.close();
        }
    }

    /** The reducer of a one-worker job: nothing to bind. */
    public static RingLink local() {
        return new RingLink() {
            @Override
            public InetSocketAddress address() {
                return new InetSocketAddress("127.0.0.1", 0);
            }

            @Override
            public void connect(InetSocketAddress successor) {
            }

            @Override
            public void allReduceMean(FloatBuffer gradients, long step) throws ReductionException {
                GradientReducer.LOCAL.allReduceMean(gradients, step);
            }

            @Override
            public void close() {
            }
        };
    }
}
