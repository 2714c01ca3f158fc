package io.troupe.coordinator;

import static org.junit.jupiter.api.Assertions.assertFalse;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.Test;

/**
 * A node's shutdown returns in bounded time even when its actor system never terminates, so the
 * command (coordinator, worker) returns and its process exits. SecurityIT saw a coordinator and two
 * workers stay alive after their job, each waiting without bound for a termination that did not come.
 */
class NodeShutdownTest {

    @Test
    void aNodeWhoseActorSystemCannotTerminateIsLeftBehindInBoundedTime() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        // An actor that does not finish stopping holds up the system's termination, as the stuck node's did.
        Config config = ConfigFactory.parseString("pekko.actor.provider = local\n"
                + "pekko.coordinated-shutdown.phases.actor-system-terminate.timeout = 2s").withFallback(ConfigFactory.load());
        ActorSystem<Void> system = ActorSystem.create(Behaviors.<Void>setup(ctx -> {
            ctx.spawn(Behaviors.receive(Object.class).onSignal(PostStop.class, s -> {
                release.await();
                return Behaviors.same();
            }).build(), "stuck");
            return Behaviors.empty();
        }), "stuck-node", config);
        try {
            CompletableFuture<Void> shutdown = CompletableFuture.runAsync(
                    () -> ClusterNode.shutdown(system, Duration.ofSeconds(1)));
            shutdown.get(120, TimeUnit.SECONDS); // generous: ~3 s of timeouts, on a loaded machine
            assertFalse(system.getWhenTerminated().toCompletableFuture().isDone(),
                    "the premise: this actor system cannot terminate while the actor is stuck");
        } finally {
            release.countDown();
        }
        system.getWhenTerminated().toCompletableFuture().get(60, TimeUnit.SECONDS);
    }
}
