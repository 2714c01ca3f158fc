package io.troupe.worker.allreduce;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.NotUsed;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.Attributes;
import org.apache.pekko.stream.KillSwitches;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.OverflowStrategy;
import org.apache.pekko.stream.UniqueKillSwitch;
import org.apache.pekko.stream.javadsl.AsPublisher;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.stream.javadsl.Tcp;
import org.apache.pekko.util.ByteString;
import org.reactivestreams.Publisher;
import org.reactivestreams.Subscriber;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The door of a ring member's port: every incoming connection is read up to its
 * {@link RingAdmission} preamble before the ring sees it; the first that presents the right
 * generation and token becomes the predecessor, every other one is closed on its own. So a
 * stranger who connects first, sends garbage, or says nothing cannot take the predecessor's
 * place or fail the ring; at most a handful of bytes per connection are buffered.
 */
final class PredecessorGate {
    private static final Logger LOG = LoggerFactory.getLogger(PredecessorGate.class);

    /** The admitted predecessor's byte streams, and where it connected from. */
    record Admitted(Flow<ByteString, ByteString, NotUsed> flow, InetSocketAddress remote) {
    }

    private final RingAdmission admission;
    private final int rank;
    private final Duration preambleTimeout;
    private final Materializer materializer;
    private final Attributes attributes;
    private final CompletableFuture<Admitted> admitted = new CompletableFuture<>();

    PredecessorGate(RingAdmission admission, int rank, Duration preambleTimeout, Materializer materializer,
                    Attributes attributes) {
        this.admission = admission;
        this.rank = rank;
        this.preambleTimeout = preambleTimeout;
        this.materializer = materializer;
        this.attributes = attributes;
    }

    /** Completes with the first connection that was admitted. */
    CompletionStage<Admitted> admitted() {
        return admitted;
    }

    /** Reads {@code connection}'s preamble; admits it as the predecessor if it is right and none is yet. */
    void offer(Tcp.IncomingConnection connection) {
        InetSocketAddress remote = connection.remoteAddress();
        if (admitted.isDone()) {
            drop(connection, "the ring already has its predecessor");
            return;
        }
        CompletableFuture<Void> passed = new CompletableFuture<>();
        Pair<Pair<Subscriber<ByteString>, UniqueKillSwitch>, Publisher<ByteString>> ends = Source.<ByteString>asSubscriber()
                .viaMat(connection.flow(), Keep.left())
                .viaMat(KillSwitches.single(), Keep.both())
                .via(check(passed))
                // Pulls the preamble through before the ring subscribes (a Buffer asks upstream at once).
                .buffer(4, OverflowStrategy.backpressure())
                .toMat(Sink.asPublisher(AsPublisher.WITHOUT_FANOUT), Keep.both())
                .withAttributes(attributes)
                .run(materializer);
        UniqueKillSwitch kill = ends.first().second();
        passed.orTimeout(preambleTimeout.toMillis(), TimeUnit.MILLISECONDS).whenComplete((ok, failure) -> {
            if (failure != null) {
                LOG.warn("ring member rank {} dropped a connection from {}: {}", rank, RingStage.hostPort(remote),
                        failure instanceof java.util.concurrent.TimeoutException ? "no valid preamble in time"
                                : failure.getMessage());
                kill.abort(new IllegalStateException("not admitted"));
                return;
            }
            Flow<ByteString, ByteString, NotUsed> flow = Flow.fromSinkAndSourceCoupled(
                    Sink.fromSubscriber(ends.first().first()), Source.fromPublisher(ends.second()));
            if (!admitted.complete(new Admitted(flow, remote))) {
                LOG.warn("ring member rank {} dropped a second admitted connection from {}", rank,
                        RingStage.hostPort(remote));
                kill.abort(new IllegalStateException("not admitted"));
            }
        });
    }

    /**
     * Holds back the first bytes until the preamble is complete (never more than its fixed
     * size), then passes everything after it through; a wrong preamble fails this connection's
     * stream only.
     */
    @SuppressWarnings("deprecation") // statefulMapConcat: the simplest stateful re-chunking operator here
    private Flow<ByteString, ByteString, NotUsed> check(CompletableFuture<Void> passed) {
        int need = admission.preambleBytes();
        return Flow.<ByteString>create().statefulMapConcat(() -> {
            ByteString[] head = {ByteString.emptyByteString()};
            boolean[] open = {false};
            return chunk -> {
                if (open[0]) {
                    return List.of(chunk);
                }
                ByteString all = head[0].concat(chunk);
                if (all.size() < need) {
                    head[0] = all;
                    return List.of();
                }
                String refusal = admission.refusal(all.take(need));
                if (refusal != null) {
                    IllegalStateException e = new IllegalStateException(refusal);
                    passed.completeExceptionally(e);
                    throw e;
                }
                open[0] = true;
                head[0] = ByteString.emptyByteString();
                passed.complete(null);
                ByteString rest = all.drop(need);
                return rest.isEmpty() ? List.of() : List.of(rest);
            };
        });
    }

    private void drop(Tcp.IncomingConnection connection, String why) {
        LOG.warn("ring member rank {} dropped a connection from {}: {}", rank,
                RingStage.hostPort(connection.remoteAddress()), why);
        connection.handleWith(Flow.fromSinkAndSource(Sink.cancelled(), Source.empty()), materializer);
    }
}
