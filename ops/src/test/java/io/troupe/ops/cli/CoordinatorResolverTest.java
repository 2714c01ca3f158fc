package io.troupe.ops.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.troupe.errors.TroupeException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class CoordinatorResolverTest {

    private static final HostPort SERVICE = new HostPort("troupe-coordinator-0.troupe-coordinator", 2552);

    @Test
    void waitsUntilTheNameResolvesAndSaysSo() throws Exception {
        AtomicInteger lookups = new AtomicInteger();
        CoordinatorResolver resolver = new CoordinatorResolver(host -> {
            if (lookups.incrementAndGet() < 4) {
                throw new UnknownHostException(host + ": Name or service not known");
            }
            return new InetAddress[] {InetAddress.getLoopbackAddress()};
        }, Duration.ofMillis(10), Duration.ofMillis(1));
        StringWriter out = new StringWriter();

        Duration left = resolver.await(SERVICE, Duration.ofSeconds(30), new PrintWriter(out));

        assertEquals(4, lookups.get());
        assertTrue(left.compareTo(Duration.ofSeconds(29)) > 0, left.toString());
        assertTrue(out.toString().contains("waiting for the coordinator's name troupe-coordinator-0.troupe-coordinator"
                + " to resolve"), out.toString());
    }

    @Test
    void aNameThatResolvesAtOnceWaitsSilently() throws Exception {
        StringWriter out = new StringWriter();
        new CoordinatorResolver().await(new HostPort("127.0.0.1", 2552), Duration.ofSeconds(5), new PrintWriter(out));
        assertEquals("", out.toString());
    }

    @Test
    void givesUpAfterTheTimeoutWithOneClearLine() {
        AtomicInteger lookups = new AtomicInteger();
        CoordinatorResolver resolver = new CoordinatorResolver(host -> {
            lookups.incrementAndGet();
            throw new UnknownHostException(host);
        }, Duration.ofMillis(20), Duration.ofSeconds(15));
        long start = System.nanoTime();

        TroupeException e = assertThrows(TroupeException.class,
                () -> resolver.await(SERVICE, Duration.ofMillis(300), new PrintWriter(new StringWriter())));

        assertEquals(TroupeException.Kind.CLUSTER, e.kind());
        assertTrue(e.getMessage().contains("did not resolve within"), e.getMessage());
        assertTrue(e.getMessage().contains("--join-timeout"), e.getMessage());
        assertTrue(lookups.get() > 2, "it retried: " + lookups.get());
        assertTrue(System.nanoTime() - start < Duration.ofSeconds(5).toNanos(), "bounded by the timeout");
    }

    @Test
    void theWorkerCommandGivesUpOnANameThatNeverResolves() {
        CliRun.troupe("worker", "--join", "no-such-coordinator.invalid:2552", "--join-timeout", 1)
                .assertExit(TroupeCli.EXIT_FAILURE)
                .assertOneLineError("the coordinator's name no-such-coordinator.invalid did not resolve within 1 s");
    }

    @Test
    void aJoinTimeoutBelowOneSecondIsAUsageError() {
        CliRun.troupe("worker", "--join", "127.0.0.1:2552", "--join-timeout", 0)
                .assertExit(TroupeCli.EXIT_USAGE).assertOneLineError("--join-timeout must be at least 1 second");
    }
}
