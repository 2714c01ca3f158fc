package io.troupe.protocol.serialization;

import com.google.protobuf.Message;
import java.util.Objects;

/**
 * A control-plane message between JVMs: one of the protobuf messages of
 * {@code troupe/cluster/cluster.proto}. Actors receive it through a message adapter and
 * match on {@link #payload()}; {@link ClusterMessageSerializer} puts it on the wire.
 */
public record ClusterMessage(Message payload) {
    public ClusterMessage {
        Objects.requireNonNull(payload, "payload");
    }

    /** The payload as {@code type}, or null when it is another message. */
    public <T extends Message> T as(Class<T> type) {
        return type.isInstance(payload) ? type.cast(payload) : null;
    }
}
