package io.troupe.protocol.serialization;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.troupe.protocol.cluster.JoinJob;
import io.troupe.protocol.cluster.StepDone;
import java.io.NotSerializableException;
import org.junit.jupiter.api.Test;

class SerializersTest {

    @Test
    void clusterMessagesRoundTripWithTheirTypeAsManifest() throws Exception {
        ClusterMessageSerializer s = new ClusterMessageSerializer();
        JoinJob join = JoinJob.newBuilder().setJobId("j1").setRank(2).setWorldSize(3).setDataPath("/data/input.txt").setSettingsJson("{\"n_layer\":4}").build();
        ClusterMessage msg = new ClusterMessage(join);
        assertEquals("JoinJob", s.manifest(msg));
        ClusterMessage back = (ClusterMessage) s.fromBinary(s.toBinary(msg), s.manifest(msg));
        assertEquals(join, back.payload());
        assertEquals(join, back.as(JoinJob.class));
        assertEquals(null, back.as(StepDone.class));
    }

    @Test
    void unknownOrMalformedClusterMessagesAreRefusedWithAReason() {
        ClusterMessageSerializer s = new ClusterMessageSerializer();
        NotSerializableException unknown = assertThrows(NotSerializableException.class,
                () -> s.fromBinary(new byte[0], "LaunchMissiles"));
        assertTrue(unknown.getMessage().contains("another Troupe version"), unknown.getMessage());
        NotSerializableException malformed = assertThrows(NotSerializableException.class,
                () -> s.fromBinary(new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff}, "StepDone"));
        assertTrue(malformed.getMessage().startsWith("malformed StepDone"), malformed.getMessage());
        assertThrows(IllegalArgumentException.class, () -> s.toBinary("not a cluster message"));
    }
}
