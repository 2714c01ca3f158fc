package io.troupe.ops.cli;

import io.troupe.coordinator.ClusterNode;
import io.troupe.coordinator.ElasticPolicy;
import io.troupe.coordinator.JobOutcome;
import io.troupe.coordinator.JobSpec;
import io.troupe.data.source.DataSource;
import io.troupe.worker.allreduce.WireFormat;
import io.troupe.worker.train.TrainSettings;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.UUID;

/** Builds the job a coordinator runs from command-line training options, and reports its end. */
final class DistributedJobs {
    private DistributedJobs() {
    }

    static JobSpec spec(TrainSettings settings, DataSource data, Path out, int workers,
                        String wire) {
        return spec(settings, data, out, workers, 1, workers, wire, null);
    }

    /**
     * @param resumeJobId the id of the job to continue from its run directory, or null for a new job
     */
    static JobSpec spec(TrainSettings settings, DataSource data, Path out, int workers,
                        int minWorkers, int maxWorkers, String wire, String resumeJobId) {
        if (minWorkers < 1 || maxWorkers < minWorkers) {
            throw UserError.usage("need 1 <= --min-workers <= --max-workers, got " + minWorkers + " and " + maxWorkers);
        }
        if (workers > maxWorkers) {
            throw UserError.usage("--workers " + workers + " is more than --max-workers " + maxWorkers);
        }
        WireFormat format;
        try {
            format = WireFormat.parse(wire);
        } catch (IllegalArgumentException e) {
            throw UserError.usage("--wire " + e.getMessage());
        }
        if (settings.batchSize() < workers) {
            throw UserError.usage("batch_size " + settings.batchSize() + " is smaller than --workers " + workers
                    + "; every worker needs at least one sequence per step");
        }
        return spec(settings, data.tokenizer(), Path.of(data.identity().path()), data.identity().sha256(), out, workers,
                minWorkers, maxWorkers, format, resumeJobId);
    }

    /**
     * A job on data named by path and hash (a fine-tuning classifier's labelled file has no
     * {@link DataSource}); the options already checked.
     */
    static JobSpec spec(TrainSettings settings, io.troupe.data.tokenize.Tokenizer tokenizer, Path dataPath,
                        String dataSha256, Path out, int workers, int minWorkers, int maxWorkers, WireFormat format,
                        String resumeJobId) {
        com.typesafe.config.Config config = ClusterNode.config("127.0.0.1", 0, java.util.List.of());
        ClusterNode.Timings timings = ClusterNode.Timings.from(config);
        // Workers open the data by this path (absolute: their working directory may differ) and check its hash.
        return new JobSpec(resumeJobId != null ? resumeJobId : UUID.randomUUID().toString(), settings, tokenizer,
                dataPath.toAbsolutePath(), dataSha256, out.toAbsolutePath(), workers,
                TroupeVersion.current(), timings.stepTimeout(), timings.verifyInterval(), format,
                ElasticPolicy.fromConfig(config, minWorkers, maxWorkers), resumeJobId != null);
    }

    /** Prints the summary of a finished job (a JSON line with {@code json}), or throws the failure as a user error. */
    static void report(JobOutcome outcome, Path out, PrintWriter stdout, boolean json) {
        if (!outcome.succeeded()) {
            throw UserError.cluster("training failed: " + outcome.failure());
        }
        RunReport.done(outcome.summary(), out, stdout, json);
    }
}
