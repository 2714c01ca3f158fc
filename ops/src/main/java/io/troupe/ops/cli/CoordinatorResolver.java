package io.troupe.ops.cli;

import java.io.PrintWriter;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;

/**
 * Waits until the name in a worker's {@code --join HOST:PORT} resolves. In Kubernetes the
 * coordinator's DNS record appears only once its pod is scheduled, so workers started first must
 * wait for it rather than fail; outside a cluster a misspelt name still ends in one clear line.
 */
final class CoordinatorResolver {

    /** Looks a host name up; throws when it does not resolve (yet). */
    @FunctionalInterface
    interface Lookup {
        InetAddress[] resolve(String host) throws UnknownHostException;
    }

    private final Lookup lookup;
    private final Duration retryEvery;
    private final Duration reportEvery;

    /** Resolves through the JVM's resolver, retrying every 2 s and saying so every 15 s. */
    CoordinatorResolver() {
        this(InetAddress::getAllByName, Duration.ofSeconds(2), Duration.ofSeconds(15));
    }

    CoordinatorResolver(Lookup lookup, Duration retryEvery, Duration reportEvery) {
        this.lookup = lookup;
        this.retryEvery = retryEvery;
        this.reportEvery = reportEvery;
    }

    /**
     * Returns once {@code coordinator}'s host resolves, printing to {@code out} while it waits.
     *
     * @return how much of {@code timeout} is left
     * @throws UserError (cluster) if the name did not resolve within {@code timeout}
     */
    Duration await(HostPort coordinator, Duration timeout, PrintWriter out) throws InterruptedException {
        long start = System.nanoTime();
        long deadline = start + timeout.toNanos();
        long nextReport = start;
        while (true) {
            UnknownHostException unresolved;
            try {
                lookup.resolve(coordinator.host());
                return Duration.ofNanos(Math.max(0, deadline - System.nanoTime()));
            } catch (UnknownHostException e) {
                unresolved = e;
            }
            long now = System.nanoTime();
            if (now >= deadline) {
                throw UserError.cluster("the coordinator's name " + coordinator.host() + " did not resolve within "
                        + timeout.toSeconds() + " s (" + unresolved.getMessage() + "); check the --join address, that"
                        + " the coordinator runs (in Kubernetes: its pod and headless Service), or raise --join-timeout");
            }
            if (now >= nextReport) {
                out.printf("waiting for the coordinator's name %s to resolve (%d s left of --join-timeout)%n",
                        coordinator.host(), Duration.ofNanos(deadline - now).toSeconds());
                out.flush();
                nextReport = now + reportEvery.toNanos();
            }
            Thread.sleep(Math.max(1, Math.min(retryEvery.toMillis(), Duration.ofNanos(deadline - now).toMillis())));
        }
    }
}
