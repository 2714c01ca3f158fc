package io.troupe.coordinator;

import io.troupe.data.tokenize.Tokenizer;
import io.troupe.worker.allreduce.WireFormat;
import io.troupe.worker.train.TrainSettings;
import java.nio.file.Path;
import java.time.Duration;

/**
 * A data-parallel training job as the coordinator runs it.
 *
 * @param dataPath the corpus, as every worker sees it (same path on every node)
 * @param dataSha256 the corpus's fingerprint; workers refuse a different file
 * @param workers how many workers the job waits for before its first step
 * @param stepTimeout how long a step may take before the job fails naming the slow worker
 * @param verifyInterval compare parameter checksums across workers every this many steps
 * @param wire the gradient wire format of the ring
 * @param elastic the membership bounds and recovery timings
 * @param resume continue from the run directory's coordinator state and newest good checkpoint
 */
public record JobSpec(String jobId, TrainSettings settings, Tokenizer tokenizer, Path dataPath, String dataSha256,
                      Path outDir, int workers, String version, Duration stepTimeout, long verifyInterval,
                      WireFormat wire, ElasticPolicy elastic, boolean resume) {

    /** A fresh job that goes on with as few as one worker and takes back up to {@code workers}. */
    public JobSpec(String jobId, TrainSettings settings, Tokenizer tokenizer, Path dataPath, String dataSha256,
                   Path outDir, int workers, String version, Duration stepTimeout, long verifyInterval,
                   WireFormat wire) {
        this(jobId, settings, tokenizer, dataPath, dataSha256, outDir, workers, version, stepTimeout, verifyInterval,
                wire, ElasticPolicy.defaults(workers), false);
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
