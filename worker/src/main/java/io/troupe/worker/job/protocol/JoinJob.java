package io.troupe.worker.job.protocol;

import io.troupe.worker.allreduce.WireFormat;
import org.apache.pekko.actor.typed.ActorRef;

/**
 * Coordinator to worker: prepare for this job (load and check the data, build the engines, bind
 * the state server) and answer {@link JobReady}. Elastic jobs then place the worker with a {@link
 * FormRing}; rank, world size, micro-batch and accumulation are unused for them.
 */
public record JoinJob(
        ActorRef<JobMessage> coordinator, String jobId, int rank, int worldSize, String settingsJson,
        String tokenizerJson, String dataPath, String dataSha256, int microBatch, int gradAccum,
        int globalBatch, String outDir, WireFormat wire, boolean elastic) implements JobMessage {
}
