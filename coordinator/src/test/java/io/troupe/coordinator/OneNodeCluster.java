package io.troupe.coordinator;

import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;

/** A test kit whose system is a one-node cluster, Up, on a free port: a coordinator of its own. */
final class OneNodeCluster {
    private OneNodeCluster() {
    }

    /** Starts the kit, joins the node to itself and waits (up to {@code wait}) until it is Up. */
    static ActorTestKit start(String name, String logLevel, Duration wait) {
        return start(name, logLevel, wait, "");
    }

    /** As {@link #start(String, String, Duration)}, with {@code config} (HOCON) over the defaults. */
    static ActorTestKit start(String name, String logLevel, Duration wait, String config) {
        ActorTestKit kit = ActorTestKit.create(name, ConfigFactory.parseString(config).withFallback(
                ConfigFactory.parseString("pekko.remote.artery.canonical.port = 0\npekko.loglevel = " + logLevel))
                .withFallback(ConfigFactory.load()));
        Cluster cluster = Cluster.get(kit.system());
        cluster.manager().tell(Join.create(cluster.selfMember().address()));
        long deadline = System.nanoTime() + wait.toNanos();
        while (cluster.selfMember().status() != MemberStatus.up() && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
        return kit;
    }
}
