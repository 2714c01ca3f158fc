package io.troupe.coordinator;

import io.troupe.data.corpus.DataIdentity;
import io.troupe.data.corpus.DataKind;
import io.troupe.data.tokenize.Tokenizer;
import io.troupe.worker.allreduce.WireFormat;
import io.troupe.worker.finetune.FinetuneJob;
import io.troupe.worker.train.TrainSettings;
import java.nio.file.Path;
import java.time.Duration;

/**
 * A data-parallel training job as the coordinator runs it.
 *
 * @param dataPath the data (a text file or a prepared dataset), as every worker opens it (same path on every node)
 * @param dataSha256 the data's content hash ({@link DataIdentity#sha256()}: of a text file's bytes, of a
 *     dataset's manifest); workers refuse data with another
 * @param workers how many workers the job waits for before its first step
 * @param stepTimeout how long a step may take before the job fails naming the slow worker
 * @param verifyInterval compare parameter checksums across workers every this many steps
 * @param wire the gradient wire format of the ring
 * @param elastic the membership bounds and recovery timings
 * @param resume continue from the run directory's coordinator state and newest good checkpoint
 * @param finetune the fine-tuning start and task the workers rebuild, or null for pretraining
 */
public record JobSpec(String jobId, TrainSettings settings, Tokenizer tokenizer, Path dataPath, String dataSha256,
                      Path outDir, int workers, String version, Duration stepTimeout, long verifyInterval,
                      WireFormat wire, ElasticPolicy elastic, boolean resume, FinetuneJob finetune) {

    /** A pretraining job. */
    public JobSpec(String jobId, TrainSettings settings, Tokenizer tokenizer, Path dataPath, String dataSha256,
                   Path outDir, int workers, String version, Duration stepTimeout, long verifyInterval,
                   WireFormat wire, ElasticPolicy elastic, boolean resume) {
        this(jobId, settings, tokenizer, dataPath, dataSha256, outDir, workers, version, stepTimeout, verifyInterval,
                wire, elastic, resume, null);
    }

    /** This job fine-tuning {@code job}'s starting point (its data is then the corpus or the labelled file). */
    public JobSpec finetuning(FinetuneJob job) {
        return new JobSpec(jobId, settings, tokenizer, dataPath, dataSha256, outDir, workers, version, stepTimeout,
                verifyInterval, wire, elastic, resume, job);
    }

    /** The FinetuneJob JSON a JoinJob carries, "" for pretraining. */
    String finetuneJson() {
        return finetune == null ? "" : finetune.toJson();
    }

    /** A fresh job that goes on with as few as one worker and takes back up to {@code workers}. */
    public JobSpec(String jobId, TrainSettings settings, Tokenizer tokenizer, Path dataPath, String dataSha256,
                   Path outDir, int workers, String version, Duration stepTimeout, long verifyInterval,
                   WireFormat wire) {
        this(jobId, settings, tokenizer, dataPath, dataSha256, outDir, workers, version, stepTimeout, verifyInterval,
                wire, ElasticPolicy.defaults(workers), false);
    }

    /** The data as a run's summary names it. */
    public DataIdentity data() {
        return new DataIdentity(dataPath.toString(), DataKind.of(dataPath), dataSha256);
    }

    public JobSpec {
        if (workers < 1) {
            throw new IllegalArgumentException("a job needs at least one worker, got " + workers);
        }
        if (settings.batchSize() < workers) {
            throw new IllegalArgumentException("batch_size " + settings.batchSize() + " is smaller than the "
                    + workers + " workers; every worker needs at least one sequence per step");
        }
    }
}
