package io.troupe.ops.cli;

import io.troupe.worker.tls.ClusterTls;
import java.nio.file.Path;
import java.util.Optional;
import picocli.CommandLine.Option;

/**
 * {@code --tls DIR} and {@code --insecure}: whether a cluster node authenticates its peers. With
 * {@code --tls} every plane (Artery, the ring, the state transfer) runs over mutually
 * authenticated TLS with the identity {@code troupe secret init DIR} wrote, and checkpoints are
 * signed with its {@code hmac.key}. Without it a node may only listen on loopback, unless
 * {@code --insecure} says that anyone who can reach it may join.
 */
final class TlsOptions {

    @Option(names = "--tls", paramLabel = "DIR",
            description = "Mutual TLS on every cluster plane (Artery, ring, state transfer) with the certificates 'troupe"
                    + " secret init DIR' wrote, and checkpoints signed with DIR/hmac.key (default: no TLS, loopback only).")
    private Path directory;

    @Option(names = "--insecure",
            description = "Allow a non-loopback address without --tls: anyone who reaches it can join the job and read"
                    + " its state (default: refused).")
    private boolean insecure;

    /** True if {@code --tls} or {@code --insecure} was given. */
    boolean given() {
        return directory != null || insecure;
    }

    /** The {@code --tls} directory, or null. */
    Path directory() {
        return directory;
    }

    /**
     * The node's TLS identity as {@code role}, after checking that an address without TLS is
     * loopback or {@code --insecure} was given.
     *
     * @param host the address this node listens on
     * @param option the option that gave it, for the error ({@code --bind})
     * @throws UserError (usage) for a non-loopback address without --tls or --insecure, or both flags
     */
    Optional<ClusterTls> load(ClusterTls.Role role, String host, String option) {
        if (directory != null && insecure) {
            throw UserError.usage("--tls and --insecure contradict each other; pass one");
        }
        if (directory != null) {
            return Optional.of(ClusterTls.load(directory, role));
        }
        if (!insecure && !MetricsEndpoint.isLoopback(new HostPort(host, 0))) {
            throw UserError.usage(option + " " + host + " is not a loopback address and the cluster has no TLS, so anyone"
                    + " who reaches it could join the job and read its state; pass --tls DIR (made by 'troupe secret"
                    + " init DIR', copied to every node), or --insecure to accept that");
        }
        return Optional.empty();
    }
}
