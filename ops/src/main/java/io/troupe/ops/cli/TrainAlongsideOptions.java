package io.troupe.ops.cli;

import io.troupe.coordinator.ClusterNode;
import io.troupe.coordinator.JobOutcome;
import io.troupe.coordinator.JobSpec;
import io.troupe.coordinator.PoolPolicy;
import io.troupe.data.DataException;
import io.troupe.data.source.DataSource;
import io.troupe.worker.run.TrainListener;
import io.troupe.worker.train.TrainSettings;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.function.BooleanSupplier;
import picocli.CommandLine.Option;

/**
 * {@code tune --external --train-alongside FILE.conf --train-out DIR}: one long training job on
 * the study's external workers, beside its trials. The coordinator node's worker pool
 * ({@code troupe.pool}) lends the job every worker no trial needs and takes one back (an
 * elastic leave of the job) for a trial that waits; the study and the job share the workers
 * instead of running one after the other.
 */
final class TrainAlongsideOptions {
    @Option(names = "--train-alongside", paramLabel = "FILE.conf",
            description = {"With --external: also train one long job on the same workers, with the training keys of",
                "FILE.conf over the default preset (as 'train --config' reads it), on the study's --data.",
                "Trials come first (troupe.pool priorities and quotas); idle workers grow the job."})
    private Path config;

    @Option(names = "--train-out", paramLabel = "DIR", description = "With --train-alongside: the training job's run directory.")
    private Path out;

    @Option(names = "--train-max-workers", paramLabel = "N",
            description = "With --train-alongside: the most workers the job trains on (default: --workers).")
    private Integer maxWorkers;

    /** True when a training job was asked for. */
    boolean given() {
        return config != null;
    }

    /**
     * Checks the options before the study starts: the file's settings, the directory, the bounds.
     *
     * @return the job to run beside the study, or null when none was asked for
     */
    JobSpec check(boolean external, Path data, int workers) throws DataException {
        if (config == null) {
            if (out != null || maxWorkers != null) {
                throw UserError.usage("--train-out and --train-max-workers describe --train-alongside FILE.conf; pass it too");
            }
            return null;
        }
        if (!external) {
            throw UserError.usage("--train-alongside shares the workers of --external; pass --external");
        }
        if (out == null) {
            throw UserError.usage("--train-alongside needs --train-out DIR, the training job's run directory");
        }
        if (Files.exists(out.resolve("summary.json")) || Files.exists(out.resolve("job.json"))) {
            throw UserError.inputData("--train-out " + out + " already holds a training run; choose another directory");
        }
        int max = maxWorkers == null ? workers : maxWorkers;
        // Over the default preset, as 'train --config FILE' and 'coordinator --config FILE' read it.
        TrainSettings settings = UserError.onCommandLine(() -> TrainSettings.load(
                io.troupe.tuner.space.SearchSpace.DEFAULT_PRESET, ConfigFile.read(config)));
        DataSource source = DataSource.open(data);
        return DistributedJobs.spec(settings, source, out, 1, 1, max, "fp32", null);
    }

    /** Starts the job on the host's pool; it stops at its next step when {@code stop} turns true. */
    static CompletableFuture<JobOutcome> start(ClusterNode.JobHost host, JobSpec job, BooleanSupplier stop) {
        TrainListener listener = new TrainListener() {
            @Override
            public boolean stopRequested() {
                return stop.getAsBoolean();
            }
        };
        // Its own thread, not the common pool: on a 2-core machine that pool has one thread, and a
        // job blocking it for hours starves whatever else is queued there (seen: the job never started).
        CompletableFuture<JobOutcome> outcome = new CompletableFuture<>();
        Thread runner = new Thread(() -> {
            try {
                outcome.complete(host.run(job, listener, PoolPolicy.Kind.TRAINING));
            } catch (InterruptedException e) {
                outcome.complete(new JobOutcome(null, "interrupted"));
            } catch (RuntimeException | Error e) {
                outcome.completeExceptionally(e);
            }
        }, "training-alongside");
        runner.setDaemon(true);
        runner.start();
        return outcome;
    }

    /** Waits for the job and prints how it ended; a failed job is a cluster error. */
    static void finish(CompletableFuture<JobOutcome> running, Path out, PrintWriter stdout, boolean json)
            throws InterruptedException {
        JobOutcome outcome;
        try {
            outcome = running.get();
        } catch (ExecutionException e) {
            outcome = new JobOutcome(null, String.valueOf(e.getCause()));
        }
        if (!outcome.succeeded()) {
            throw UserError.cluster("the training job beside the study failed: " + outcome.failure());
        }
        if (!json) {
            stdout.printf("training job beside the study (%s):%n", out);
        }
        RunReport.done(outcome.summary(), out, stdout, json);
    }
}
