package io.troupe.tuner.run;

import io.troupe.coordinator.ClusterNode;
import io.troupe.coordinator.ElasticPolicy;
import io.troupe.coordinator.JobOutcome;
import io.troupe.coordinator.JobSpec;
import io.troupe.data.DataException;
import io.troupe.data.corpus.TokenSplit;
import io.troupe.data.source.DataSource;
import io.troupe.data.io.FileTrees;
import io.troupe.errors.TroupeException.Kind;
import io.troupe.tuner.TuneException;
import io.troupe.worker.session.WorkerSettings;
import io.troupe.worker.allreduce.WireFormat;
import io.troupe.worker.checkpoint.CheckpointStore;
import io.troupe.worker.engine.Device;
import io.troupe.worker.engine.EngineOptions;
import io.troupe.worker.run.TrainListener;
import io.troupe.worker.run.TrainSummary;
import io.troupe.worker.run.Trainer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;

/**
 * Trains trials for real. With one worker per trial a trial is a local {@link Trainer}; with
 * K > 1 it is a data-parallel job on an embedded cluster of K workers
 * ({@link ClusterNode#runEmbedded}), the same code {@code troupe train --workers K} runs. With a
 * {@link ClusterNode.JobHost} every trial is a job on K of the host's external workers.
 *
 * <p>The data is opened once per study ({@link DataSource}: a text file or a prepared dataset);
 * this executor holds it, and with it the tokens in the process-wide {@link
 * io.troupe.data.source.TokenCache}, for the whole study, so no trial tokenizes again: local
 * trials split the held tokens (views, no copy) and the embedded workers of a distributed trial
 * open the same data by path and find it in the cache.
 */
public final class TrainingExecutor implements TrialExecutor {
    private final Path data;
    private final DataSource source;
    private final int workersPerTrial;
    private final int threadsPerWorker;
    private final String version;
    private final Map<Integer, TokenSplit> splits = new HashMap<>();
    private final ClusterNode.JobHost host;

    /**
     * @param data a UTF-8 text file, or a dataset directory from {@code troupe prepare}
     * @param workersPerTrial K, the workers of each trial
     * @param threadsPerWorker ONNX Runtime threads of each worker
     * @param version the Troupe version embedded workers announce (must match the coordinator's)
     */
    public TrainingExecutor(Path data, int workersPerTrial, int threadsPerWorker, String version) throws DataException {
        this(data, workersPerTrial, threadsPerWorker, version, null);
    }

    /**
     * @param host the coordinator node whose external workers ({@code troupe worker --join}) run
     *     the trials, K at a time; null for embedded workers
     */
    public TrainingExecutor(Path data, int workersPerTrial, int threadsPerWorker, String version,
                            ClusterNode.JobHost host) throws DataException {
        this.host = host;
        this.data = data.toAbsolutePath();
        this.workersPerTrial = workersPerTrial;
        this.threadsPerWorker = Math.max(1, threadsPerWorker);
        this.version = version;
        this.source = DataSource.open(data);
        // Tokenized now, so bad data fails the study before its first trial, and held from here on.
        source.scoredTokens();
    }

    private synchronized TokenSplit split(int blockSize) throws DataException {
        TokenSplit split = splits.get(blockSize);
        if (split == null) {
            split = source.split(blockSize);
            splits.put(blockSize, split);
        }
        return split;
    }

    @Override
    public long run(TrialJob job, TrainListener listener) throws Exception {
        Files.createDirectories(job.dir());
        if (workersPerTrial == 1 && host == null) {
            boolean resume = job.resume() && hasCheckpoint(job.dir());
            if (!resume) {
                clear(job.dir());
            }
            Trainer trainer = new Trainer(job.settings(), source.tokenizer(), split(job.settings().blockSize()), job.dir(),
                    EngineOptions.cpu(threadsPerWorker));
            TrainSummary summary = trainer.run(resume, listener);
            return summary.steps();
        }
        // A distributed trial resumes as a crashed coordinator does: from the newest good
        // checkpoint rank 0 wrote into the trial's directory, served to the workers by the
        // coordinator.
        boolean resume = job.resume() && hasCheckpoint(job.dir());
        if (!resume) {
            clear(job.dir());
        }
        ClusterNode.Timings timings = ClusterNode.Timings.from(ClusterNode.config("127.0.0.1", 0, java.util.List.of()));
        JobSpec spec = new JobSpec(UUID.randomUUID().toString(), job.settings(), source.tokenizer(), data,
                source.identity().sha256(), job.dir().toAbsolutePath(), workersPerTrial, version,
                timings.stepTimeout(), timings.verifyInterval(), WireFormat.FP32,
                ElasticPolicy.defaults(workersPerTrial), resume);
        JobOutcome outcome = host != null ? host.run(spec, listener)
                : ClusterNode.runEmbedded(spec, new WorkerSettings(threadsPerWorker, new Device.Cpu(), version),
                ClusterNode.dataPlaneSettings(), listener);
        if (!outcome.succeeded()) {
            throw new TuneException(Kind.CLUSTER, outcome.failure());
        }
        return outcome.summary().steps();
    }

    @Override
    public void trialEnded(TrialJob job) throws IOException {
        deleteCheckpoints(job.dir());
    }

    /**
     * Copies the donor's newest checkpoint into the recipient's directory, re-labelled with the
     * recipient's settings: the checkpoint is the state an elastic join ships to a new worker
     * (parameters, AdamW moments and step, sampler position), and only the settings it may be
     * resumed with change (a perturbed learning rate or dropout).
     */
    @Override
    public void transfer(TrialJob from, TrialJob to) throws Exception {
        CheckpointStore donor = new CheckpointStore(from.dir(), 1);
        java.util.List<Path> files = donor.list();
        if (files.isEmpty()) {
            throw new TuneException(Kind.INTERNAL, "trial " + from.number() + " has no checkpoint to copy in " + from.dir());
        }
        io.troupe.worker.checkpoint.Checkpoint c = CheckpointStore.load(files.get(0));
        String identity = to.settings().resumeIdentity(new com.fasterxml.jackson.databind.ObjectMapper(),
                source.tokenizer().vocabSize()).toString();
        io.troupe.worker.checkpoint.Checkpoint relabelled = new io.troupe.worker.checkpoint.Checkpoint(identity,
                c.parameters(), c.adamM(), c.adamV(), c.optimizerStep(), c.trainingStep(), c.samplerState(),
                c.extraRngState(), c.tokenizer());
        Files.createDirectories(to.dir());
        deleteCheckpoints(to.dir());
        new CheckpointStore(to.dir(), 1).save(relabelled);
    }

    private static boolean hasCheckpoint(Path dir) throws Exception {
        return !new CheckpointStore(dir, 1).list().isEmpty();
    }

    /** A finished trial needs no checkpoints (they are what most of a study's disk would be). */
    private static void deleteCheckpoints(Path dir) throws IOException {
        FileTrees.deleteRecursively(dir.resolve(CheckpointStore.DIRECTORY));
    }

    /** A trial that starts from scratch must not find an earlier attempt's metrics or checkpoints. */
    private static void clear(Path dir) throws IOException {
        deleteCheckpoints(dir);
        Files.deleteIfExists(dir.resolve(Trainer.METRICS));
        Files.deleteIfExists(dir.resolve(Trainer.SUMMARY));
    }
}
