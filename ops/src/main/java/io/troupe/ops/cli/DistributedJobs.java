package io.troupe.ops.cli;

import io.troupe.coordinator.ClusterNode;
import io.troupe.coordinator.ElasticPolicy;
import io.troupe.coordinator.JobOutcome;
import io.troupe.coordinator.JobSpec;
import io.troupe.data.corpus.TextCorpus;
import io.troupe.data.tokenize.Tokenizer;
import io.troupe.worker.job.JobSettings;
import io.troupe.worker.allreduce.WireFormat;
import io.troupe.worker.train.TrainSettings;
import io.troupe.worker.run.TrainSummary;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.UUID;

/** Builds the job a coordinator runs from command-line training options, and reports its end. */
final class DistributedJobs {
    private DistributedJobs() {
    }

    static JobSpec spec(TrainSettings settings, Tokenizer tokenizer, TextCorpus corpus, Path out, int workers,
                        String wire) {
        return spec(settings, tokenizer, corpus, out, workers, 1, workers, wire, null);
    }

    /**
     * @param resumeJobId the id of the job to continue from its run directory, or null for a new job
     */
    static JobSpec spec(TrainSettings settings, Tokenizer tokenizer, TextCorpus corpus, Path out, int workers,
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
        com.typesafe.config.Config config = ClusterNode.config("127.0.0.1", 0, java.util.List.of());
        ClusterNode.Timings timings = ClusterNode.Timings.from(config);
        return new JobSpec(resumeJobId != null ? resumeJobId : UUID.randomUUID().toString(), settings, tokenizer,
                corpus.path().toAbsolutePath(), JobSettings.sha256(corpus.text()), out.toAbsolutePath(), workers,
                TroupeVersion.current(), timings.stepTimeout(), timings.verifyInterval(), format,
                ElasticPolicy.fromConfig(config, minWorkers, maxWorkers), resumeJobId != null);
    }

    /** Prints the summary line of a finished job, or throws the failure as a user error. */
    static void report(JobOutcome outcome, Path out, PrintWriter stdout) {
        if (!outcome.succeeded()) {
            throw UserError.cluster("training failed: " + outcome.failure());
        }
        TrainSummary s = outcome.summary();
        stdout.printf("done: %d steps, train loss %.4f, val loss %.4f (best %.4f), %,.0f tokens/s, %.1f s%n",
                s.steps(), s.finalTrainLoss(), s.finalValLoss(), s.bestValLoss(), s.tokensPerSecond(), s.wallSeconds());
        stdout.printf("model: %s%n", out.resolve("model.onnx"));
        stdout.flush();
    }
}
