package io.troupe.worker.actor;

import java.util.function.Function;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/**
 * A child actor that wraps what it receives into the parent's protocol. Used instead of a
 * message adapter for refs handed to the receptionist: all adapters of an actor share one
 * ref, and the receptionist refuses to watch one ref both as a registered service and as a
 * subscriber.
 */
public final class Inbox {
    private Inbox() {
    }

    /** Spawns a child named {@code name} that forwards {@code type} messages to the parent, wrapped. */
    public static <T, P> ActorRef<T> spawn(ActorContext<P> ctx, String name, Class<T> type, Function<T, P> wrap) {
        ActorRef<P> parent = ctx.getSelf();
        Behavior<T> forward = Behaviors.receive(type).onMessage(type, msg -> {
            parent.tell(wrap.apply(msg));
            return Behaviors.same();
        }).build();
        return ctx.spawn(forward, name);
    }
}
