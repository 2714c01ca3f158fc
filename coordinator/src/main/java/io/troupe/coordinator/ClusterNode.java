package io.troupe.coordinator;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.troupe.worker.actor.DataPlane;
import io.troupe.worker.actor.PekkoDataPlane;
import io.troupe.worker.actor.WorkerSettings;
import io.troupe.worker.allreduce.DataPlaneConfig;
import io.troupe.worker.allreduce.RingSettings;
import io.troupe.worker.train.TrainListener;
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

    private ClusterNode() {
    }

    /** The node's config: Artery on host:port with the given roles, over the defaults. */
    public static Config config(String host, int port, List<String> roles) {
        Map<String, Object> overrides = new HashMap<>();
        overrides.put("troupe.cluster.host", host);
        overrides.put("troupe.cluster.port", port);
        // reference.conf's ${troupe.cluster.*} substitutions are resolved when it loads, so the
        // Artery keys are set directly too.
        overrides.put("pekko.remote.artery.canonical.hostname", host);
        overrides.put("pekko.remote.artery.canonical.port", port);
        overrides.put("pekko.cluster.roles", roles);
        // A node is a cluster member whatever order the reference.conf files came in: when Troupe's
        // jars are a library on someone's classpath (the tuner's tests, an embedding application)
        // rather than the shaded troupe.jar, pekko-actor's reference.conf may precede this
        // module's and its provider = local would win.
        overrides.put("pekko.actor.provider", "cluster");
        // The ring's stages and Pekko IO's connection actors get a dispatcher sized to the
        // machine: about 20% less CPU per all-reduce than Pekko's defaults (measured).
        return ConfigFactory.parseMap(overrides).withFallback(DataPlaneConfig.recommended())
                .withFallback(ConfigFactory.load()).resolve();
    }

    /** Creates the node's actor system, turning a failed bind into a clear error. */
    private static ActorSystem<Void> startSystem(Behavior<Void> guardian, Config config) {
        try {
            return ActorSystem.create(guardian, SYSTEM_NAME, config);
        } catch (RuntimeException e) {
            Throwable root = e;
            while (root.getCause() != null) {
                root = root.getCause();
            }
            String where = config.getString("pekko.remote.artery.canonical.hostname") + ":"
                    + config.getInt("pekko.remote.artery.canonical.port");
            if (root instanceof java.net.BindException) {
                throw new ClusterException("cannot listen on " + where + ": " + root.getMessage()
                        + "; choose another port (or port 0 for any free one)", e);
            }
            throw new ClusterException("cannot start the cluster node on " + where + ": " + root.getMessage(), e);
        }
    }

    /** The data-plane settings of {@code troupe.worker.data-plane} (system properties override them). */
    public static RingSettings dataPlaneSettings() {
        return RingSettings.fromConfig(ConfigFactory.load().getConfig("troupe.worker.data-plane"));
    }

    /** The cluster timings from config. */
    public record Timings(Duration stepTimeout, long verifyInterval, Duration joinTimeout) {
        public static Timings from(Config config) {
            return new Timings(config.getDuration("troupe.cluster.step-timeout"),
                    config.getLong("troupe.cluster.verify-interval"), config.getDuration("troupe.cluster.join-timeout"));
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
        ActorSystem<Void> system = startSystem(Behaviors.setup(ctx -> {
            List<DataPlane> planes = new ArrayList<>();
            for (int i = 0; i < spec.workers(); i++) {
                planes.add(new PekkoDataPlane(ctx.getSystem(), "127.0.0.1", ring, spec.stepTimeout()));
            }
            return Guardian.create(spec, listener, outcome::complete, workerSettings, planes);
        }), config);
        return selfJoinAndAwait(system, outcome, address -> { });
    }

    /** Joins the node to itself (it is the cluster's seed), then waits for the job and stops the node. */
    private static JobOutcome selfJoinAndAwait(ActorSystem<Void> system, CompletableFuture<JobOutcome> outcome,
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

    /** Leaves the cluster gracefully (so workers see the coordinator go) and stops the node. */
    private static void shutdown(ActorSystem<Void> system) {
        org.apache.pekko.actor.CoordinatedShutdown.get(system)
                .runAll(org.apache.pekko.actor.CoordinatedShutdown.unknownReason());
        system.getWhenTerminated().toCompletableFuture().join();
    }

    /**
     * Runs a coordinator node on host:port that waits for {@code spec.workers()} worker nodes,
     * runs the job and returns its outcome.
     */
    public static JobOutcome runCoordinator(JobSpec spec, String host, int port, TrainListener listener,
                                            java.util.function.Consumer<Address> onBound) throws InterruptedException {
        Config config = config(host, port, List.of(NodeRole.COORDINATOR.clusterRole()));
        CompletableFuture<JobOutcome> outcome = new CompletableFuture<>();
        ActorSystem<Void> system = startSystem(
                Guardian.create(spec, listener, outcome::complete, null, List.of()), config);
        return selfJoinAndAwait(system, outcome, onBound);
    }

    /**
     * Runs a worker node that joins the coordinator at host:port and serves jobs until the
     * coordinator leaves the cluster.
     *
     * @return null when the worker served and its coordinator left; else why it stopped
     */
    public static String runWorker(String joinHost, int joinPort, String bindHost, WorkerSettings workerSettings,
                                   RingSettings ring, Duration joinTimeout, Duration deadline)
            throws InterruptedException {
        Config config = config(bindHost, 0, List.of(NodeRole.WORKER.clusterRole()));
        ActorSystem<Void> system = startSystem(Behaviors.setup(ctx -> Guardian.create(null, TrainListener.SILENT,
                o -> { }, workerSettings, List.of(new PekkoDataPlane(ctx.getSystem(), bindHost, ring, deadline)))),
                config);
        Cluster cluster = Cluster.get(system);
        Address seed = new Address("pekko", SYSTEM_NAME, joinHost, joinPort);
        cluster.manager().tell(new JoinSeedNodes(List.of(seed)));
        CompletableFuture<Void> joined = new CompletableFuture<>();
        CompletableFuture<Void> coordinatorGone = new CompletableFuture<>();
        system.systemActorOf(Behaviors.<ClusterEvent.MemberEvent>setup(ctx -> {
            cluster.subscriptions().tell(Subscribe.create(ctx.getSelf(), ClusterEvent.MemberEvent.class));
            return Behaviors.receiveMessage(event -> {
                Member member = event.member();
                if (event instanceof ClusterEvent.MemberUp && member.equals(cluster.selfMember())) {
                    joined.complete(null);
                } else if (event instanceof ClusterEvent.MemberUp && member.address().equals(cluster.selfMember().address())) {
                    joined.complete(null);
                }
                if ((event instanceof ClusterEvent.MemberRemoved || event instanceof ClusterEvent.MemberExited
                        || event instanceof ClusterEvent.MemberLeft)
                        && member.hasRole(NodeRole.COORDINATOR.clusterRole())) {
                    coordinatorGone.complete(null);
                }
                return Behaviors.same();
            });
        }), "membership", org.apache.pekko.actor.typed.Props.empty());
        try {
            try {
                joined.get(joinTimeout.toMillis(), TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                return "the coordinator at " + joinHost + ":" + joinPort + " did not answer within "
                        + joinTimeout.toSeconds() + " s; check the address and that 'troupe coordinator' is running";
            } catch (ExecutionException e) {
                return String.valueOf(e.getCause());
            }
            CompletableFuture.anyOf(coordinatorGone, system.getWhenTerminated().toCompletableFuture()).join();
            return null;
        } finally {
            shutdown(system);
        }
    }
}
