package io.troupe.worker.session;

import io.troupe.data.tokenize.Tokenizer;
import io.troupe.model.gpt.GptConfig;
import io.troupe.worker.engine.EngineOptions;
import io.troupe.worker.finetune.FinetuneJob;
import io.troupe.worker.finetune.LabelledRows;
import io.troupe.worker.job.BatchPlan;
import io.troupe.worker.job.protocol.JoinJob;
import io.troupe.worker.job.StartingPoint;
import io.troupe.worker.job.WorkerJob;
import io.troupe.worker.plane.PekkoDataPlane;
import io.troupe.worker.train.TrainSettings;
import java.nio.file.Path;

/**
 * Builds a worker's {@link WorkerJob} for a fine-tuning JoinJob: the starting point from the
 * file the job names (checked against its hash), then a language-model job on the corpus or a
 * classification job on the labelled file, split and encoded as the command did.
 */
final class FinetuneJobs {
    private FinetuneJobs() {
    }

    static WorkerJob open(JoinJob join, TrainSettings settings, Tokenizer tokenizer, BatchPlan plan,
                          EngineOptions engine) throws Exception {
        FinetuneJob spec = FinetuneJob.parse(join.finetuneJson());
        GptConfig cfg = settings.model(tokenizer.vocabSize());
        StartingPoint start = spec.start(cfg);
        if (!spec.classify()) {
            return new WorkerJob(settings, tokenizer, WorkerSession.loadData(join, settings, tokenizer), plan, engine,
                    PekkoDataPlane.local(), null, start);
        }
        Path data = Path.of(join.dataPath());
        String sha = FinetuneJob.sha256(data);
        if (!sha.equals(join.dataSha256())) {
            throw new IllegalArgumentException("the labelled data " + data + " on this node has SHA-256 " + sha
                    + ", not the coordinator's " + join.dataSha256() + "; every node needs the same file");
        }
        LabelledRows rows = spec.rows(data, tokenizer, cfg, settings.seed());
        try {
            return new WorkerJob(settings, tokenizer, rows, plan, engine, PekkoDataPlane.local(), null, start);
        } catch (RuntimeException e) {
            rows.close();
            throw e;
        }
    }
}
