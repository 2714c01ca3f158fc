package io.troupe.protocol.serialization;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.NotSerializableException;
import org.junit.jupiter.api.Test;

class SerializersTest {

    record Snapshot(long step, float[] values, String note) implements KryoPayload {
    }

    record NotAPayload(int x) {
    }

    @Test
    void kryoRoundTripsPayloadsAndRefusesOtherClasses() throws Exception {
        KryoSerializer s = new KryoSerializer();
        Snapshot snap = new Snapshot(42, new float[] {1.5f, -2f, Float.MIN_VALUE}, "ok");
        Snapshot back = (Snapshot) s.fromBinary(s.toBinary(snap), s.manifest(snap));
        assertEquals(42, back.step());
        assertArrayEquals(snap.values(), back.values());
        assertEquals("ok", back.note());
        assertThrows(IllegalArgumentException.class, () -> s.toBinary(new NotAPayload(1)));
        NotSerializableException refused = assertThrows(NotSerializableException.class,
                () -> s.fromBinary(new byte[] {1}, NotAPayload.class.getName()));
        assertTrue(refused.getMessage().contains("not a KryoPayload"), refused.getMessage());
        assertThrows(NotSerializableException.class, () -> s.fromBinary(new byte[] {1}, "java.lang.Runtime"));
    }
}
