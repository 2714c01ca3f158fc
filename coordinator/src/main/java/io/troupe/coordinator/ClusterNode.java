package io.troupe.coordinator;

import io.troupe.worker.actor.WorkerActor;
import io.troupe.worker.tls.ClusterTls;
import java.util.Optional;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.troupe.worker.plane.DataPlane;
import io.troupe.worker.plane.PekkoDataPlane;
import io.troupe.worker.session.WorkerSettings;
import io.troupe.worker.allreduce.DataPlaneConfig;
import io.troupe.worker.allreduce.RingSettings;
import io.troupe.worker.run.TrainListener;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.apache.pekko.cluster.typed.JoinSeedNodes;
import org.apache.pekko.cluster.typed.Subscribe;

/**
 * Starts Troupe cluster nodes: an embedded cluster (coordinator and workers in one JVM, the
 * data plane still over loopback TCP), a coordinator node that waits for external workers,
 * or a worker node that joins a coordinator.
 */
public final class ClusterNode {
    /** The actor system name shared by every node of a Troupe cluster. */
    public static final String SYSTEM_NAME = "troupe";
    /** How long a node's actor system may take to terminate after its coordinated shutdown has run. */
    static final Duration TERMINATION_GRACE = Duration.ofSeconds(10);

    private ClusterNode() {
    }

    /** The node's config: Artery on host:port with the given roles, over the defaults. */
    public static Config config(String host, int port, List<String> roles) {
        return config(host, port, roles, Optional.empty());
    }

    /**
     * The node's config: Artery on host:port with the given roles, over the defaults; with
     * {@code tls}, Artery runs over {@code tls-tcp} with mutual authentication by the cluster's
     * certificates ({@link #arteryTls}).
     */
    public static Config config(String host, int port, List<String> roles, Optional<ClusterTls> tls) {
        Map<String, Object> overrides = new HashMap<>();
        tls.ifPresent(identity -> overrides.putAll(arteryTls(identity)));
        overrides.put("troupe.cluster.host", host);
        overrides.put("troupe.cluster.port", port);
        // reference.conf's ${troupe.cluster.*} substitutions are resolved when it loads, so the
        // Artery keys are set directly too.
        overrides.put("pekko.remote.artery.canonical.hostname", host);
        overrides.put("pekko.remote.artery.canonical.port", port);
        overrides.put("pekko.cluster.roles", roles);
        Config defaults = ConfigFactory.load();
        overrides.put("pekko.remote.artery.bind.bind-timeout",
                defaults.getDuration("troupe.cluster.bind-timeout").toMillis() + "ms");
        // A node is a cluster member whatever order the reference.conf files came in: when Troupe's
        // jars are a library on someone's classpath (the tuner's tests, an embedding application)
        // rather than the shaded troupe.jar, pekko-actor's reference.conf may precede this
        // module's and its provider = local would win.
        overrides.put("pekko.actor.provider", "cluster");
        // The ring's stages and Pekko IO's connection actors get a dispatcher sized to the
        // machine: about 20% less CPU per all-reduce than Pekko's defaults (measured).
        return ConfigFactory.parseMap(overrides).withFallback(DataPlaneConfig.recommended())
                .withFallback(defaults).resolve();
    }

    /**
     * Artery over TLS with Pekko's {@code ConfigSSLEngineProvider}: this node's key store, the
     * cluster CA as trust store, TLS 1.3, and mutual authentication, so a node (or anyone) without
     * a certificate of the cluster CA fails the handshake and can neither join nor send a message.
     * Host names are not verified (see {@link ClusterTls}).
     */
    static Map<String, Object> arteryTls(ClusterTls tls) {
        String engine = "pekko.remote.artery.ssl.config-ssl-engine.";
        Map<String, Object> keys = new HashMap<>();
        keys.put("pekko.remote.artery.transport", "tls-tcp");
        keys.put("pekko.remote.artery.ssl.ssl-engine-provider", "org.apache.pekko.remote.artery.tcp.ConfigSSLEngineProvider");
        keys.put(engine + "key-store", tls.keyStore().toString());
        keys.put(engine + "key-store-password", tls.password());
        keys.put(engine + "key-password", tls.password());
        keys.put(engine + "trust-store", tls.trustStore().toString());
        keys.put(engine + "trust-store-password", tls.password());
        keys.put(engine + "protocol", ClusterTls.PROTOCOL);
        keys.put(engine + "require-mutual-authentication", "on");
        keys.put(engine + "hostname-verification", "off");
        return keys;
    }

    /**
     * Creates the node's actor system, turning a failed bind into a clear error. Over plain
     * {@code tcp} (an {@code --insecure} or loopback cluster), Artery binds to an internal loopback
     * port behind an {@link ArteryFrameGuard} on the node's address, which drops a connection whose
     * frame header declares more than {@code maximum-frame-size} (Pekko 1.7.0's framing does not).
     */
    private static <T> ActorSystem<T> startSystem(Behavior<T> guardian, Config config) {
        String host = config.getString("pekko.remote.artery.canonical.hostname");
        int port = config.getInt("pekko.remote.artery.canonical.port");
        boolean guarded = "tcp".equals(config.getString("pekko.remote.artery.transport"))
                && config.getBoolean("troupe.cluster.artery-frame-guard");
        int internalPort = 0;
        Config effective = config;
        if (guarded) {
            try {
                port = port == 0 ? freePort(host) : port;
                internalPort = freePort("127.0.0.1");
            } catch (java.io.IOException e) {
                throw new ClusterException("cannot listen on " + host + ":" + port + ": " + e.getMessage()
                        + "; choose another port (or port 0 for any free one)", e);
            }
            effective = ConfigFactory.parseMap(Map.of("pekko.remote.artery.canonical.port", port,
                    "pekko.remote.artery.bind.hostname", "127.0.0.1", "pekko.remote.artery.bind.port", internalPort))
                    .withFallback(config);
        }
        ActorSystem<T> system;
        try {
            system = ActorSystem.create(guardian, SYSTEM_NAME, effective);
        } catch (Exception e) { // Artery's bind timeout is a java.util.concurrent.TimeoutException thrown from Scala
            throw startFailure(host + ":" + port, e);
        }
        if (guarded) {
            try {
                ArteryFrameGuard guard = ArteryFrameGuard.start(system, host, port,
                        new java.net.InetSocketAddress("127.0.0.1", internalPort),
                        (int) effective.getBytes("pekko.remote.artery.advanced.maximum-frame-size").longValue(),
                        (int) effective.getBytes("pekko.remote.artery.advanced.maximum-large-frame-size").longValue(),
                        effective.getDuration("troupe.cluster.bind-timeout"));
                system.getWhenTerminated().thenRun(guard::close);
            } catch (Exception e) {
                system.terminate();
                Throwable root = e instanceof ExecutionException && e.getCause() != null
                        ? e.getCause() : e;
                throw new ClusterException("cannot listen on " + host + ":" + port + ": " + root.getMessage()
                        + "; choose another port (or port 0 for any free one)", e);
            }
        }
        return system;
    }

    /** The one-line error of a node that could not start: a port in use, a bind too slow, or another cause. */
    static ClusterException startFailure(String where, Exception e) {
        Throwable root = e;
        while (root.getCause() != null) {
            root = root.getCause();
        }
        if (root instanceof java.net.BindException) {
            return new ClusterException("cannot listen on " + where + ": " + root.getMessage()
                    + "; choose another port (or port 0 for any free one)", e);
        }
        if (root instanceof java.util.concurrent.TimeoutException) {
            return new ClusterException("cannot start the cluster node on " + where + ": its socket did not bind in time ("
                    + root.getMessage() + "); on a loaded machine raise troupe.cluster.bind-timeout, e.g. "
                    + "TROUPE_JAVA_OPTS=-Dtroupe.cluster.bind-timeout=90s", e);
        }
        return new ClusterException("cannot start the cluster node on " + where + ": " + root.getMessage(), e);
    }

    // A free port on host, for a node asked for "any port" whose Artery sits behind the frame guard.
    private static int freePort(String host) throws java.io.IOException {
        try (java.net.ServerSocket probe = new java.net.ServerSocket(0, 1, java.net.InetAddress.getByName(host))) {
            return probe.getLocalPort();
        }
    }

    public static RingSettings dataPlaneSettings() {
        return RingSettings.fromConfig(ConfigFactory.load().getConfig("troupe.worker.data-plane"));
    }

    /** The cluster timings from config. */
    public record Timings(Duration stepTimeout, long verifyInterval, Duration joinTimeout, Duration coordinatorWait,
                          Duration leaveTimeout) {
        public static Timings from(Config config) {
            return new Timings(config.getDuration("troupe.cluster.step-timeout"),
                    config.getLong("troupe.cluster.verify-interval"), config.getDuration("troupe.cluster.join-timeout"),
                    config.getDuration("troupe.cluster.coordinator-wait"),
                    config.getDuration("troupe.cluster.leave-timeout"));
        }
    }

    /**
     * Runs a job on a coordinator and {@code workers} workers in this JVM: one ActorSystem, one
     * data-plane server per worker on loopback.
     */
    public static JobOutcome runEmbedded(JobSpec spec, WorkerSettings workerSettings, RingSettings ring,
                                         TrainListener listener) throws InterruptedException {
        Config config = config("127.0.0.1", 0, List.of(NodeRole.COORDINATOR.clusterRole(), NodeRole.WORKER.clusterRole()));
        CompletableFuture<JobOutcome> outcome = new CompletableFuture<>();
        ActorSystem<Guardian.WorkersOf> system = startSystem(Behaviors.setup(ctx -> {
            List<DataPlane> planes = new ArrayList<>();
            for (int i = 0; i < spec.workers(); i++) {
                planes.add(new PekkoDataPlane(ctx.getSystem(), "127.0.0.1", ring, spec.stepTimeout()));
            }
            DataPlane coordinatorPlane = new PekkoDataPlane(ctx.getSystem(), "127.0.0.1", ring, spec.stepTimeout());
            return Guardian.create(spec, coordinatorPlane, listener, outcome::complete, workerSettings, planes);
        }), config);
        return selfJoinAndAwait(system, outcome, address -> { });
    }

    /** Joins the node to itself (it is the cluster's seed), then waits for the job and stops the node. */
    private static JobOutcome selfJoinAndAwait(ActorSystem<?> system, CompletableFuture<JobOutcome> outcome,
                                               java.util.function.Consumer<Address> onBound)
            throws InterruptedException {
        Cluster cluster = Cluster.get(system);
        cluster.manager().tell(Join.create(cluster.selfMember().address()));
        try {
            onBound.accept(cluster.selfMember().address());
            return outcome.get();
        } catch (ExecutionException e) {
            return new JobOutcome(null, String.valueOf(e.getCause()));
        } finally {
            shutdown(system);
        }
    }

    /**
     * Leaves the cluster gracefully (so workers see the coordinator go) and stops the node, in
     * bounded time: the coordinated shutdown's phases each have a timeout, and after them the
     * actor system gets {@code grace} more to terminate. If it has not, it is left behind with a
     * warning, so that the command returns and its process exits. Seen in SecurityIT at a load of
     * 20-40: a coordinator and two workers whose jobs had ended all logged "phase
     * [actor-system-terminate] timed out" at once and stayed alive, idle, with the main thread in
     * an unbounded wait for the termination. Likely cause (not verified here): Artery waits without
     * a deadline for its remoting streams to complete on termination, and a stalled stream keeps
     * the system alive (apache/pekko#3247, bounded upstream by pekko PR #3317, which Pekko 1.7.0
     * does not have: its reference.conf has no {@code shutdown-streams-timeout}).
     */
    static void shutdown(ActorSystem<?> system, Duration grace) {
        CompletableFuture<?> terminated = system.getWhenTerminated().toCompletableFuture();
        org.apache.pekko.actor.CoordinatedShutdown.get(system)
                .runAll(org.apache.pekko.actor.CoordinatedShutdown.unknownReason())
                .toCompletableFuture().exceptionally(e -> null).join(); // bounded by the phases' timeouts
        try {
            terminated.get(grace.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            system.log().warn("the node's actor system did not terminate within {} s after its coordinated shutdown;"
                    + " leaving it behind", grace.toSeconds());
        } catch (ExecutionException e) {
            system.log().warn("the node's actor system terminated with {}", e.getCause().toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt(); // the caller is being stopped: let it see so
        }
    }

    private static void shutdown(ActorSystem<?> system) {
        shutdown(system, TERMINATION_GRACE);
    }

    /**
     * Runs a coordinator node on host:port that waits for {@code spec.workers()} worker nodes,
     * runs the job and returns its outcome.
     */
    public static JobOutcome runCoordinator(JobSpec spec, String host, int port, TrainListener listener,
                                            java.util.function.Consumer<Address> onBound) throws InterruptedException {
        return runCoordinator(spec, host, port, listener, Optional.empty(), onBound);
    }

    /** {@link #runCoordinator(JobSpec, String, int, TrainListener, java.util.function.Consumer)} over TLS when {@code tls} is given. */
    public static JobOutcome runCoordinator(JobSpec spec, String host, int port, TrainListener listener,
                                            Optional<ClusterTls> tls, java.util.function.Consumer<Address> onBound)
            throws InterruptedException {
        Config config = config(host, port, List.of(NodeRole.COORDINATOR.clusterRole()), tls);
        CompletableFuture<JobOutcome> outcome = new CompletableFuture<>();
        ActorSystem<Guardian.WorkersOf> system = startSystem(Behaviors.setup(ctx -> Guardian.create(spec,
                new PekkoDataPlane(ctx.getSystem(), host, dataPlaneSettings(), spec.stepTimeout(), tls), listener,
                outcome::complete, null, List.of())), config);
        return selfJoinAndAwait(system, outcome, onBound);
    }

    /**
     * Runs a worker node that joins the coordinator at host:port and serves its jobs. If the
     * coordinator is lost (crashed, not left), the node starts afresh and tries to join the
     * coordinator address again for up to {@code coordinatorWait}: a coordinator resumed there
     * picks the worker up. On SIGTERM the worker leaves its job at the next step boundary
     * before the node stops.
     *
     * @return null when the worker served and its coordinator left (or it was told to stop); else
     *     why it stopped
     */
    public static String runWorker(String joinHost, int joinPort, String bindHost, WorkerSettings workerSettings,
                                   RingSettings ring, Timings timings, Duration deadline)
            throws InterruptedException {
        return runWorker(joinHost, joinPort, bindHost, workerSettings, ring, timings, deadline, Optional.empty());
    }

    /** {@link #runWorker(String, int, String, WorkerSettings, RingSettings, Timings, Duration)} over TLS when {@code tls} is given. */
    public static String runWorker(String joinHost, int joinPort, String bindHost, WorkerSettings workerSettings,
                                   RingSettings ring, Timings timings, Duration deadline, Optional<ClusterTls> tls)
            throws InterruptedException {
        Duration wait = timings.joinTimeout();
        while (true) {
            WorkerNode node = WorkerNode.start(joinHost, joinPort, bindHost, workerSettings, ring, timings, deadline, tls);
            try {
                if (!node.awaitJoined(wait)) {
                    return wait == timings.joinTimeout()
                            ? "the coordinator at " + joinHost + ":" + joinPort + " did not answer within "
                            + wait.toSeconds() + " s; check the address and that 'troupe coordinator' is running"
                            : "the coordinator at " + joinHost + ":" + joinPort + " did not come back within "
                            + wait.toSeconds() + " s (troupe.cluster.coordinator-wait)";
                }
                switch (node.awaitEnd()) {
                    case REFUSED:
                        // Final: another version or other data-plane settings will not be admitted on a retry.
                        return "the coordinator at " + joinHost + ":" + joinPort + " refused this worker: "
                                + node.refusal();
                    case DONE:
                        return null;
                    case COORDINATOR_LOST:
                        break;
                }
            } finally {
                node.stop();
            }
            System.err.println("lost the coordinator at " + joinHost + ":" + joinPort + "; waiting up to "
                    + timings.coordinatorWait().toSeconds() + " s for it to come back");
            wait = timings.coordinatorWait();
        }
    }

    /** One incarnation of a worker node's actor system. */
    private static final class WorkerNode {
        /** Why a worker node stops serving. */
        enum End {
            /** The coordinator crashed or was cut off: wait for it to come back. */
            COORDINATOR_LOST,
            /** The coordinator left (its job is over), or the node was stopped. */
            DONE,
            /** The coordinator turned this worker away for good ({@link WorkerActor.Refused}). */
            REFUSED
        }

        private final ActorSystem<Guardian.WorkersOf> system;
        private final CompletableFuture<Void> joined = new CompletableFuture<>();
        private final CompletableFuture<Boolean> coordinatorGone = new CompletableFuture<>();
        private final CompletableFuture<String> refused = new CompletableFuture<>();

        private WorkerNode(ActorSystem<Guardian.WorkersOf> system) {
            this.system = system;
        }

        static WorkerNode start(String joinHost, int joinPort, String bindHost, WorkerSettings workerSettings,
                                RingSettings ring, Timings timings, Duration deadline, Optional<ClusterTls> tls) {
            Config config = config(bindHost, 0, List.of(NodeRole.WORKER.clusterRole()), tls);
            WorkerNode node = new WorkerNode(startSystem(Behaviors.setup(ctx -> Guardian.create(null, null,
                    TrainListener.SILENT, o -> { }, workerSettings,
                    List.of(new PekkoDataPlane(ctx.getSystem(), bindHost, ring, deadline, tls)))), config));
            node.watchMembership();
            node.leaveOnShutdown(timings.leaveTimeout());
            Cluster.get(node.system).manager().tell(new JoinSeedNodes(List.of(
                    new Address("pekko", SYSTEM_NAME, joinHost, joinPort))));
            return node;
        }

        /**
         * Completes {@code joined} when this node is Up, {@code coordinatorGone} when the coordinator
         * goes, {@code refused} when the coordinator refuses this node's worker.
         */
        private void watchMembership() {
            Cluster cluster = Cluster.get(system);
            system.systemActorOf(Behaviors.<Object>setup(ctx -> {
                cluster.subscriptions().tell(Subscribe.create(ctx.getSelf().narrow(), ClusterEvent.MemberEvent.class));
                cluster.subscriptions().tell(Subscribe.create(ctx.getSelf().narrow(), ClusterEvent.UnreachableMember.class));
                system.eventStream().tell(new org.apache.pekko.actor.typed.eventstream.EventStream.Subscribe<>(
                        WorkerActor.Refused.class, ctx.getSelf().narrow()));
                return Behaviors.receiveMessage(event -> {
                    if (event instanceof WorkerActor.Refused r) {
                        refused.complete(r.reason());
                    }
                    if (event instanceof ClusterEvent.MemberUp up && up.member().address().equals(cluster.selfMember().address())) {
                        joined.complete(null);
                    }
                    if (event instanceof ClusterEvent.MemberEvent e && e.member().hasRole(NodeRole.COORDINATOR.clusterRole())) {
                        if (e instanceof ClusterEvent.MemberLeft || e instanceof ClusterEvent.MemberExited) {
                            coordinatorGone.complete(false); // it left: the job is over
                        } else if (e instanceof ClusterEvent.MemberRemoved) {
                            coordinatorGone.complete(true);
                        }
                    }
                    if (event instanceof ClusterEvent.UnreachableMember u
                            && u.member().hasRole(NodeRole.COORDINATOR.clusterRole())) {
                        coordinatorGone.complete(true); // crashed or cut off
                    }
                    return Behaviors.same();
                });
            }), "membership", org.apache.pekko.actor.typed.Props.empty());
        }

        /**
         * On SIGTERM (the JVM's shutdown hook runs Pekko's coordinated shutdown) every worker of
         * this node asks the coordinator to take it out of the ring at the next step boundary,
         * and the node waits until it has, or until {@code timeout}.
         */
        private void leaveOnShutdown(Duration timeout) {
            org.apache.pekko.actor.CoordinatedShutdown.get(system).addTask(
                    org.apache.pekko.actor.CoordinatedShutdown.PhaseBeforeServiceUnbind(), "leave-jobs", () ->
                            coordinatorGone.isDone() || refused.isDone() // no job to leave
                                    ? CompletableFuture.completedFuture(org.apache.pekko.Done.getInstance())
                                    : org.apache.pekko.actor.typed.javadsl.AskPattern.<Guardian.WorkersOf, List<org.apache.pekko.actor.typed.ActorRef<io.troupe.worker.actor.WorkerActor.Command>>>ask(
                                    system, Guardian.WorkersOf::new, timeout, system.scheduler())
                                    .thenCompose(workers -> CompletableFuture.allOf(workers.stream()
                                            .map(w -> org.apache.pekko.actor.typed.javadsl.AskPattern.<io.troupe.worker.actor.WorkerActor.Command, org.apache.pekko.Done>ask(
                                                    w, io.troupe.worker.actor.WorkerActor.Leave::new, timeout, system.scheduler())
                                                    .toCompletableFuture().exceptionally(e -> org.apache.pekko.Done.getInstance()))
                                            .toArray(CompletableFuture[]::new)))
                                    .handle((ok, e) -> org.apache.pekko.Done.getInstance()));
        }

        boolean awaitJoined(Duration wait) throws InterruptedException {
            try {
                CompletableFuture.anyOf(joined, system.getWhenTerminated().toCompletableFuture())
                        .get(wait.toMillis(), TimeUnit.MILLISECONDS);
                return joined.isDone();
            } catch (TimeoutException e) {
                return false;
            } catch (ExecutionException e) {
                return false;
            }
        }

        /**
         * Waits until the coordinator goes, refuses this node's worker, or the node stops. Before
         * the refusal ended the wait, a refused worker's actor stopped but its node stayed a
         * cluster member until the coordinator's job ended (SecurityIT's misconfigured worker).
         */
        End awaitEnd() {
            CompletableFuture<Void> terminated = system.getWhenTerminated().toCompletableFuture().thenApply(d -> null);
            CompletableFuture.anyOf(coordinatorGone, refused, terminated).join();
            if (refused.isDone()) {
                return End.REFUSED;
            }
            // SIGTERM: while this node leaves, the coordinator may look lost to it; the process is
            // exiting, so it must not wait for the coordinator nor start another node.
            boolean exiting = org.apache.pekko.actor.CoordinatedShutdown.get(system).getShutdownReason()
                    .filter(r -> r == org.apache.pekko.actor.CoordinatedShutdown.jvmExitReason()).isPresent();
            return coordinatorGone.getNow(false) && !terminated.isDone() && !exiting ? End.COORDINATOR_LOST : End.DONE;
        }

        /** The coordinator's reason for refusing this node's worker (after {@link End#REFUSED}). */
        String refusal() {
            return refused.getNow("");
        }

        void stop() {
            shutdown(system);
        }
    }

    /**
     * A coordinator node that runs jobs, one after another or several at once, on external
     * worker nodes (a hyperparameter study's trials): the workers join it as they would a
     * coordinator, and its {@link WorkerPool} hands each job the workers it wants.
     */
    public static final class JobHost implements AutoCloseable {
        private record RunJob(JobSpec spec, TrainListener listener, PoolPolicy.Kind kind,
                              CompletableFuture<JobOutcome> outcome) {
        }

        private final ActorSystem<RunJob> system;

        private JobHost(ActorSystem<RunJob> system) {
            this.system = system;
        }

        /** Starts the node on host:port (port 0: any free port) as the seed of its cluster. */
        public static JobHost start(String host, int port) {
            return start(host, port, Optional.empty());
        }

        /** {@link #start(String, int)} over TLS when {@code tls} is given. */
        public static JobHost start(String host, int port, Optional<ClusterTls> tls) {
            return start(host, port, tls, PoolPolicy.Settings.fromConfig(ConfigFactory.load()));
        }

        /** {@link #start(String, int, Optional)} with the pool's priorities and quotas given. */
        public static JobHost start(String host, int port, Optional<ClusterTls> tls, PoolPolicy.Settings pooling) {
            Config config = config(host, port, List.of(NodeRole.COORDINATOR.clusterRole()), tls);
            ActorSystem<RunJob> system = startSystem(Behaviors.setup(ctx -> {
                org.apache.pekko.actor.typed.ActorRef<WorkerPool.Command> pool =
                        ctx.spawn(WorkerPool.create(new PoolPolicy(pooling)), "pool");
                int[] jobs = {0};
                return Behaviors.receiveMessage(run -> {
                    java.util.concurrent.atomic.AtomicReference<org.apache.pekko.actor.typed.ActorRef<
                            io.troupe.worker.job.protocol.JobMessage>> wire = new java.util.concurrent.atomic.AtomicReference<>();
                    io.troupe.worker.plane.StateExchange state = null;
                    if (run.spec().resume()) {
                        try {
                            state = new PekkoDataPlane(ctx.getSystem(), host, dataPlaneSettings(),
                                    run.spec().stepTimeout(), tls).stateExchange();
                        } catch (io.troupe.worker.job.ReductionException e) {
                            run.outcome().complete(new JobOutcome(null, e.getMessage()));
                            return Behaviors.same();
                        }
                    }
                    // The pool hears of the job's checkpoints (lend-after-checkpoint) from its progress.
                    io.troupe.worker.train.Cadence cadence = io.troupe.worker.train.Cadence.of(run.spec().settings());
                    TrainListener listener = io.troupe.worker.run.TrainListeners.of(run.listener(), new TrainListener() {
                        @Override
                        public void onStep(StepStats stats) {
                            if (wire.get() != null && cadence.checkpoints(stats.step())) {
                                pool.tell(new WorkerPool.Checkpointed(wire.get(), stats.step()));
                            }
                        }
                    });
                    ctx.spawn(CoordinatorSupervisor.create(run.spec(), state, listener, outcome -> {
                        if (wire.get() != null) {
                            pool.tell(new WorkerPool.JobEnded(wire.get()));
                        }
                        run.outcome().complete(outcome);
                    }, w -> {
                        wire.set(w);
                        pool.tell(new WorkerPool.Want(w, run.spec().jobId(), run.kind(),
                                run.spec().elastic().minWorkers(), run.spec().elastic().maxWorkers(),
                                run.spec().outDir()));
                    }), "job-" + jobs[0]++);
                    return Behaviors.same();
                });
            }), config);
            Cluster cluster = Cluster.get(system);
            cluster.manager().tell(Join.create(cluster.selfMember().address()));
            return new JobHost(system);
        }

        /** Where workers join ({@code troupe worker --join HOST:PORT}). */
        public Address address() {
            return Cluster.get(system).selfMember().address();
        }

        /** Runs one trial on pool workers and waits for its outcome. Several threads may run jobs at once. */
        public JobOutcome run(JobSpec spec, TrainListener listener) throws InterruptedException {
            return run(spec, listener, PoolPolicy.Kind.TRIAL);
        }

        /**
         * Runs one job of {@code kind} on pool workers and waits for its outcome. Several threads may
         * run jobs at once; the pool shares the workers among them by {@code troupe.pool}.
         */
        public JobOutcome run(JobSpec spec, TrainListener listener, PoolPolicy.Kind kind) throws InterruptedException {
            CompletableFuture<JobOutcome> outcome = new CompletableFuture<>();
            system.tell(new RunJob(spec, listener, kind, outcome));
            try {
                return outcome.get();
            } catch (ExecutionException e) {
                return new JobOutcome(null, String.valueOf(e.getCause()));
            }
        }

        /** Leaves the cluster (workers see their coordinator go and exit) and stops the node. */
        @Override
        public void close() {
            shutdown(system);
        }
    }
}
