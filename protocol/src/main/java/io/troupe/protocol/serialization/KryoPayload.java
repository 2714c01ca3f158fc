package io.troupe.protocol.serialization;

/**
 * Marker for internal, schema-free payloads that {@link KryoSerializer} may put on the wire
 * between Troupe JVMs of the same version (records of primitives, arrays and strings).
 */
public interface KryoPayload {
}
