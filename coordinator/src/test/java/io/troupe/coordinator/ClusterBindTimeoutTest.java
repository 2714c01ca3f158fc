package io.troupe.coordinator;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A node's Artery socket gets troupe.cluster.bind-timeout to bind, not Pekko's 3 s. */
class ClusterBindTimeoutTest {

    @Test
    void aBindTooSlowIsOneLineNamingTheSetting() {
        ClusterException e = ClusterNode.startFailure("127.0.0.1:2552", new IllegalStateException("start failed",
                new java.util.concurrent.TimeoutException("Future timed out after [3000 milliseconds]")));
        assertEquals("cannot start the cluster node on 127.0.0.1:2552: its socket did not bind in time (Future timed out"
                + " after [3000 milliseconds]); on a loaded machine raise troupe.cluster.bind-timeout, e.g."
                + " TROUPE_JAVA_OPTS=-Dtroupe.cluster.bind-timeout=90s", e.getMessage());
    }

    @Test
    void aNodeWaitsTheConfiguredTimeForItsSocket() {
        assertEquals(Duration.ofSeconds(30),
                ClusterNode.config("127.0.0.1", 0, List.of()).getDuration("pekko.remote.artery.bind.bind-timeout"));
        System.setProperty("troupe.cluster.bind-timeout", "75s");
        try {
            com.typesafe.config.ConfigFactory.invalidateCaches();
            assertEquals(Duration.ofSeconds(75),
                    ClusterNode.config("127.0.0.1", 0, List.of()).getDuration("pekko.remote.artery.bind.bind-timeout"));
        } finally {
            System.clearProperty("troupe.cluster.bind-timeout");
            com.typesafe.config.ConfigFactory.invalidateCaches();
        }
    }
}
