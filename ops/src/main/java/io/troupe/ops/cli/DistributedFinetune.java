package io.troupe.ops.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.troupe.coordinator.ClusterNode;
import io.troupe.coordinator.JobOutcome;
import io.troupe.coordinator.JobSpec;
import io.troupe.data.io.AtomicFiles;
import io.troupe.model.gpt.LoraConfig;
import io.troupe.worker.engine.Device;
import io.troupe.worker.finetune.FinetuneJob;
import io.troupe.worker.job.StartingPoint;
import io.troupe.worker.run.TrainListener;
import io.troupe.worker.run.Trainer;
import io.troupe.worker.session.WorkerSettings;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * {@code finetune --workers N}: the fine-tuning job an embedded cluster runs on the one step
 * path. The command builds the starting point as a local run does and writes it into the run
 * directory ({@link FinetuneJob#START_FILE}); every worker reads it back (checked by hash),
 * trains only its trainable part, and rank 0 checkpoints and exports as in pretraining.
 */
final class DistributedFinetune {
    private static final ObjectMapper JSON = new ObjectMapper();

    private DistributedFinetune() {
    }

    /**
     * Writes the starting point (a resumed run keeps the one its checkpoints were trained from)
     * and describes the job the workers rebuild.
     *
     * @param labels the class names of a classify job, else empty
     * @param trainExamples a classify job's training examples, else 0
     */
    static FinetuneJob describe(Path out, boolean resume, String task, StartingPoint start, List<String> labels,
                                String pooling, double valFraction, int maxTokens, int maxBadRows, int trainExamples)
            throws IOException {
        Path file = out.resolve(FinetuneJob.START_FILE).toAbsolutePath();
        String sha;
        if (resume) {
            if (!Files.isRegularFile(file)) {
                throw UserError.usage(out + " has no " + FinetuneJob.START_FILE + ", so it is not a run of finetune"
                        + " --workers N; resume it without --workers, or start over without --resume");
            }
            sha = FinetuneJob.sha256(file);
        } else {
            sha = FinetuneJob.writeStart(out, start);
        }
        LoraConfig lora = start.lora();
        return new FinetuneJob(task, file.toString(), sha, List.copyOf(start.trainable().names()),
                lora == null ? 0 : lora.rank(), lora == null ? 0 : lora.alpha(), FinetuneJob.targets(lora),
                lora == null ? 0 : lora.dropout(), labels, pooling, valFraction, maxTokens, maxBadRows, trainExamples);
    }

    /** Runs the job on {@code workers} embedded workers; a failure is a one-line cluster error. */
    static JobOutcome run(JobSpec spec, int threadsPerWorker, Device device, TrainListener listener) {
        JobOutcome outcome;
        try {
            outcome = ClusterNode.runEmbedded(spec, new WorkerSettings(threadsPerWorker, device,
                    TroupeVersion.current()), ClusterNode.dataPlaneSettings(), listener);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw UserError.cluster("fine-tuning was interrupted");
        }
        if (!outcome.succeeded()) {
            throw UserError.cluster("fine-tuning failed: " + outcome.failure());
        }
        return outcome;
    }

    /**
     * Runs the job as the coordinator of external worker processes on {@code address}: prints
     * where they join (a JSON line with {@code json}), waits for them and trains.
     */
    static JobOutcome coordinate(JobSpec spec, HostPort address, java.util.Optional<io.troupe.worker.tls.ClusterTls> tls,
                                 TrainListener listener, java.io.PrintWriter stdout, boolean json) {
        JobOutcome outcome;
        try {
            outcome = ClusterNode.runCoordinator(spec, address.host(), address.port(), listener, tls, bound -> {
                if (json) {
                    Json.printLine(stdout, new CoordinatorCommand.Listening("listening", spec.jobId(),
                            bound.getHost().get(), (Integer) bound.getPort().get(), spec.workers()));
                    return;
                }
                stdout.printf("coordinator of fine-tuning job %s listens on %s:%s%s; start %d worker(s) with:%n"
                                + "  troupe worker --join %s:%s%n", spec.jobId(), bound.getHost().get(),
                        bound.getPort().get(), tls.isPresent() ? " (TLS)" : "", spec.workers(), bound.getHost().get(),
                        bound.getPort().get());
                stdout.flush();
            });
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw UserError.cluster("fine-tuning was interrupted");
        }
        if (!outcome.succeeded()) {
            throw UserError.cluster("fine-tuning failed: " + outcome.failure());
        }
        return outcome;
    }

    /** Adds the fine-tuning fields (source, trainable counts, labels, metrics) to the coordinator's summary.json. */
    static void addToSummary(Path out, Map<String, Object> extra) throws IOException {
        Path file = out.resolve(Trainer.SUMMARY);
        ObjectNode summary = (ObjectNode) JSON.readTree(file.toFile());
        extra.forEach((key, value) -> summary.set(key, JSON.valueToTree(value)));
        AtomicFiles.writeString(file, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(summary) + "\n");
    }
}
