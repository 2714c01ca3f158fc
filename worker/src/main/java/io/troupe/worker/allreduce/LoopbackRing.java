package io.troupe.worker.allreduce;

import java.net.InetSocketAddress;
import java.nio.FloatBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.ClassicActorSystemProvider;

/**
 * A whole ring inside one JVM, each member on 127.0.0.1 with a port of its own, talking over real
 * loopback TCP: what the tests, the benchmark and a single-machine cluster use. It does the
 * coordinator's part of forming a ring (member i connects to member i+1) and runs one all-reduce on
 * every member at once.
 */
public final class LoopbackRing implements AutoCloseable {

    private final List<RingAllReduce> members;

    private LoopbackRing(List<RingAllReduce> members) {
        this.members = Collections.unmodifiableList(members);
    }

    /** A ring of {@code worldSize} members sharing one ActorSystem. */
    public static LoopbackRing start(ClassicActorSystemProvider system, int worldSize, RingSettings settings)
            throws RingException, InterruptedException {
        return start(Collections.nCopies(worldSize, system), settings);
    }

    /** A ring with member i on {@code systems.get(i)} (one ActorSystem per member, like separate processes). */
    public static LoopbackRing start(List<? extends ClassicActorSystemProvider> systems, RingSettings settings)
            throws RingException, InterruptedException {
        return start(systems, settings, java.util.Optional.empty());
    }

    /** A ring with member i on {@code systems.get(i)}, over mutual TLS when {@code tls} is given. */
    public static LoopbackRing start(List<? extends ClassicActorSystemProvider> systems, RingSettings settings,
                                     java.util.Optional<io.troupe.worker.tls.ClusterTls> tls)
            throws RingException, InterruptedException {
        int worldSize = systems.size();
        if (worldSize < 1) {
            throw new IllegalArgumentException("a ring needs at least one member");
        }
        List<RingAllReduce> members = new ArrayList<>();
        try {
            for (int rank = 0; rank < worldSize; rank++) {
                members.add(RingAllReduce.bind(systems.get(rank), rank, worldSize, new InetSocketAddress("127.0.0.1", 0), settings,
                        RingAdmission.open(), tls));
            }
            List<CompletionStage<Void>> ready = new ArrayList<>();
            for (int rank = 0; rank < worldSize; rank++) {
                ready.add(members.get(rank).connect(members.get((rank + 1) % worldSize).localAddress()));
            }
            awaitAll(ready);
            return new LoopbackRing(members);
        } catch (InterruptedException | RuntimeException e) {
            members.forEach(RingAllReduce::close);
            throw e;
        }
    }

    /** The members, by rank. */
    public List<RingAllReduce> members() {
        return members;
    }

    /** The member of rank {@code rank}. */
    public RingAllReduce member(int rank) {
        return members.get(rank);
    }

    /** How many members the ring has. */
    public int worldSize() {
        return members.size();
    }

    /**
     * Runs one all-reduce on every member at once, {@code buffers.get(r)} on rank r, and waits for
     * all of them.
     *
     * @throws RingException the first failure (by rank) if any member failed
     */
    public void allReduceMean(List<FloatBuffer> buffers, long stepId, Duration deadline)
            throws RingException, InterruptedException {
        if (buffers.size() != members.size()) {
            throw new IllegalArgumentException(members.size() + " members need as many buffers, got " + buffers.size());
        }
        List<CompletionStage<Void>> calls = new ArrayList<>();
        for (int rank = 0; rank < members.size(); rank++) {
            calls.add(members.get(rank).allReduceMean(buffers.get(rank), stepId, deadline));
        }
        awaitAll(calls);
    }

    /** Waits until every stage is done (each has its own deadline), then reports the first failure. */
    private static void awaitAll(List<CompletionStage<Void>> stages) throws RingException, InterruptedException {
        List<CompletableFuture<Void>> futures = stages.stream().map(CompletionStage::toCompletableFuture).toList();
        for (CompletableFuture<Void> future : futures) {
            try {
                future.join();
            } catch (RuntimeException ignored) {
                // Collected below, by rank.
            }
        }
        for (CompletableFuture<Void> future : futures) {
            RingAllReduce.await(future);
        }
    }

    /** Closes every member. */
    @Override
    public void close() {
        members.forEach(RingAllReduce::close);
    }
}
