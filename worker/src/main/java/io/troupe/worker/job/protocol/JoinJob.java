package io.troupe.worker.job.protocol;

import io.troupe.worker.allreduce.WireFormat;
import org.apache.pekko.actor.typed.ActorRef;

/**
 * Coordinator to worker: prepare for this job (load and check the data, build the engines, bind
 * the state server) and answer {@link JobReady}. Elastic jobs then place the worker with a {@link
 * FormRing}; rank, world size, micro-batch and accumulation are unused for them. A fine-tuning job
 * also carries {@code finetuneJson} (a {@code worker.finetune.FinetuneJob}: where its starting
 * parameters are, what trains, and a classifier's head and split); "" for pretraining.
 */
public record JoinJob(
        ActorRef<JobMessage> coordinator, String jobId, int rank, int worldSize, String settingsJson,
        String tokenizerJson, String dataPath, String dataSha256, int microBatch, int gradAccum,
        int globalBatch, String outDir, WireFormat wire, boolean elastic, String finetuneJson) implements JobMessage {

    /** A pretraining job (no fine-tuning start). */
    public JoinJob(ActorRef<JobMessage> coordinator, String jobId, int rank, int worldSize, String settingsJson,
                   String tokenizerJson, String dataPath, String dataSha256, int microBatch, int gradAccum,
                   int globalBatch, String outDir, WireFormat wire, boolean elastic) {
        this(coordinator, jobId, rank, worldSize, settingsJson, tokenizerJson, dataPath, dataSha256, microBatch,
                gradAccum, globalBatch, outDir, wire, elastic, "");
    }

    public JoinJob {
        finetuneJson = finetuneJson == null ? "" : finetuneJson;
    }

    /** True when the job fine-tunes a starting point ({@code finetuneJson} is a {@code FinetuneJob}). */
    public boolean finetune() {
        return !finetuneJson.isEmpty();
    }
}
