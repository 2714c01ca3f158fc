package io.troupe.coordinator;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.ClassicActorSystemProvider;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Tcp;
import org.apache.pekko.util.ByteString;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A TCP front for a node's plain-{@code tcp} Artery port: Artery binds to an internal loopback
 * port, and this listens on the node's public (canonical) address, forwarding each connection
 * there while an {@link ArteryFrameCheck} follows its inbound frames. A connection whose frame
 * header declares more than {@code maximum-frame-size} is closed at once, before its payload is
 * buffered; every other connection is untouched. Over {@code tls-tcp} no front is needed (only a
 * holder of the cluster certificate reaches Artery's framing there).
 */
final class ArteryFrameGuard implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ArteryFrameGuard.class);

    private final Tcp.ServerBinding binding;

    private ArteryFrameGuard(Tcp.ServerBinding binding) {
        this.binding = binding;
    }

    /**
     * Listens on {@code host:port} and forwards to {@code artery}, refusing frames above
     * {@code maxFrameBytes} ({@code maxLargeFrameBytes} on the large-message stream). Blocks until bound.
     *
     * @throws Exception the bind's failure (e.g. a {@link java.net.BindException})
     */
    static ArteryFrameGuard start(ClassicActorSystemProvider system, String host, int port, InetSocketAddress artery,
                                  int maxFrameBytes, int maxLargeFrameBytes, Duration bindTimeout) throws Exception {
        Materializer materializer = Materializer.matFromSystem(system);
        Tcp tcp = Tcp.get(system);
        Tcp.ServerBinding binding = tcp.bind(host, port)
                .to(Sink.foreach(connection -> connection.handleWith(
                        checked(maxFrameBytes, maxLargeFrameBytes, connection.remoteAddress()).via(tcp.outgoingConnection(artery.getHostString(),
                                artery.getPort())), materializer)))
                .run(materializer)
                .toCompletableFuture().get(bindTimeout.toMillis(), TimeUnit.MILLISECONDS);
        return new ArteryFrameGuard(binding);
    }

    /** The inbound bytes of one connection, passed on while their frame headers are within bounds. */
    static Flow<ByteString, ByteString, ?> checked(int maxFrameBytes, int maxLargeFrameBytes, InetSocketAddress from) {
        return Flow.<ByteString>create().statefulMap(() -> new ArteryFrameCheck(maxFrameBytes, maxLargeFrameBytes),
                (check, chunk) -> {
                    try {
                        return Pair.create(check, check.pass(chunk));
                    } catch (ArteryFrameCheck.FrameRefused e) {
                        LOG.warn("dropped a connection from {}: {}", from, e.getMessage());
                        throw e;
                    }
                },
                check -> Optional.empty());
    }

    /** Where the front listens. */
    InetSocketAddress address() {
        return binding.localAddress();
    }

    @Override
    public void close() {
        binding.unbind();
    }
}
