package io.troupe.protocol.serialization;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.Parser;
import io.troupe.protocol.cluster.ConnectRing;
import io.troupe.protocol.cluster.FinishJob;
import io.troupe.protocol.cluster.JobFinished;
import io.troupe.protocol.cluster.JobReady;
import io.troupe.protocol.cluster.JoinJob;
import io.troupe.protocol.cluster.RingReady;
import io.troupe.protocol.cluster.RunStep;
import io.troupe.protocol.cluster.StepDone;
import io.troupe.protocol.cluster.StepFailed;
import io.troupe.protocol.cluster.WorkerHello;
import java.io.NotSerializableException;
import java.util.Map;
import org.apache.pekko.serialization.SerializerWithStringManifest;

/**
 * Serializes {@link ClusterMessage}s as their protobuf bytes, with the message type as the
 * manifest. Actor references inside the messages are strings made by the typed
 * {@code ActorRefResolver}, so this serializer needs no actor system.
 */
public final class ClusterMessageSerializer extends SerializerWithStringManifest {
    /** Pekko serializer id; must be unique in the actor system. */
    public static final int IDENTIFIER = 74_301;

    private static final Map<String, Parser<? extends Message>> PARSERS = Map.ofEntries(
            Map.entry("WorkerHello", WorkerHello.parser()),
            Map.entry("JoinJob", JoinJob.parser()),
            Map.entry("JobReady", JobReady.parser()),
            Map.entry("ConnectRing", ConnectRing.parser()),
            Map.entry("RingReady", RingReady.parser()),
            Map.entry("RunStep", RunStep.parser()),
            Map.entry("StepDone", StepDone.parser()),
            Map.entry("StepFailed", StepFailed.parser()),
            Map.entry("FinishJob", FinishJob.parser()),
            Map.entry("JobFinished", JobFinished.parser()),
            Map.entry("Probe", io.troupe.protocol.cluster.Probe.parser()),
            Map.entry("ProbeReply", io.troupe.protocol.cluster.ProbeReply.parser()),
            Map.entry("FormRing", io.troupe.protocol.cluster.FormRing.parser()),
            Map.entry("LeaveRequest", io.troupe.protocol.cluster.LeaveRequest.parser()));

    @Override
    public int identifier() {
        return IDENTIFIER;
    }

    @Override
    public String manifest(Object o) {
        return payloadOf(o).getClass().getSimpleName();
    }

    @Override
    public byte[] toBinary(Object o) {
        return payloadOf(o).toByteArray();
    }

    @Override
    public Object fromBinary(byte[] bytes, String manifest) throws NotSerializableException {
        Parser<? extends Message> parser = PARSERS.get(manifest);
        if (parser == null) {
            throw new NotSerializableException("unknown cluster message type '" + manifest
                    + "': the peer runs another Troupe version");
        }
        try {
            return new ClusterMessage(parser.parseFrom(bytes));
        } catch (InvalidProtocolBufferException e) {
            throw new NotSerializableException("malformed " + manifest + " message: " + e.getMessage());
        }
    }

    private static Message payloadOf(Object o) {
        if (o instanceof ClusterMessage m && PARSERS.containsKey(m.payload().getClass().getSimpleName())) {
            return m.payload();
        }
        throw new IllegalArgumentException("ClusterMessageSerializer cannot serialize " + o.getClass().getName());
    }
}
