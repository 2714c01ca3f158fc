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
import io.troupe.data.pairs.PairDataset;
import io.troupe.model.seq2seq.Seq2SeqConfig;
import io.troupe.worker.seq2seq.PairRows;
import java.nio.file.Path;

/**
 * Builds a worker's {@link WorkerJob} for a fine-tuning JoinJob: the starting point from the
 * file the job names (checked against its hash), then a language-model job on the corpus, a
 * classification job on the labelled file, split and encoded as the command did, or an
 * encoder-decoder job on a pairs dataset.
 */
final class FinetuneJobs {
    private FinetuneJobs() {
    }

    static WorkerJob open(JoinJob join, TrainSettings settings, Tokenizer tokenizer, BatchPlan plan,
                          EngineOptions engine) throws Exception {
        FinetuneJob spec = FinetuneJob.parse(join.finetuneJson());
        if (spec.translate()) {
            return seq2seq(join, spec, settings, tokenizer, plan, engine);
        }
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

    /**
     * An encoder-decoder job: the pairs dataset at the coordinator's path, checked by its
     * manifest's SHA-256 (the manifest holds every split file's hash, which opening checks) and
     * tokenizer, and the model's start file.
     */
    private static WorkerJob seq2seq(JoinJob join, FinetuneJob spec, TrainSettings settings, Tokenizer tokenizer,
                                     BatchPlan plan, EngineOptions engine) throws Exception {
        Path data = Path.of(join.dataPath());
        if (!PairDataset.isPairsDataset(data)) {
            throw new IllegalArgumentException(data + " is not a pairs dataset on this node; every node needs the"
                    + " coordinator's dataset at the same path");
        }
        String sha = FinetuneJob.sha256(data.resolve(PairDataset.MANIFEST));
        if (!sha.equals(join.dataSha256())) {
            throw new IllegalArgumentException("the pairs dataset " + data + " on this node has manifest SHA-256 " + sha
                    + ", not the coordinator's " + join.dataSha256() + "; every node needs the same dataset");
        }
        PairDataset pairs = PairDataset.open(data);
        if (!pairs.tokenizer().toJson().equals(tokenizer.toJson())) {
            throw new IllegalArgumentException("the pairs dataset " + data + " on this node has another tokenizer than"
                    + " the coordinator's");
        }
        Seq2SeqConfig cfg = spec.seq2seqConfig();
        PairRows rows = new PairRows(cfg, pairs, settings.batchSize(), settings.evalIters(), settings.seed());
        if (rows.samplesPerEpoch() != spec.trainExamples()) {
            throw new IllegalArgumentException(data + " gives " + rows.samplesPerEpoch() + " samples per epoch on this"
                    + " node, " + spec.trainExamples() + " on the coordinator's");
        }
        return new WorkerJob(settings, tokenizer, rows, plan, engine, PekkoDataPlane.local(), null, spec.startSeq2Seq());
    }
}
