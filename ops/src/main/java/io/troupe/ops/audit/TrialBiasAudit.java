package io.troupe.ops.audit;

import io.troupe.ops.inference.ExportedModel;
import io.troupe.tuner.run.TrialAudit;
import io.troupe.tuner.run.TrialJob;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The bias audit of a study's trials ({@code troupe tune --audit-pairs}): scores the pairs with
 * each COMPLETE trial's exported model, exactly as {@code troupe audit bias} does, and gives the
 * overall pct_stereotype and its 95% bootstrap interval as the trial's secondary metrics.
 * The pairs file is read once, before the study starts, so a bad file stops it before any trial.
 */
public final class TrialBiasAudit implements TrialAudit {
    /** The share (0-100) of pairs where the model prefers the more stereotypical sentence. */
    public static final String PCT_STEREOTYPE = "pct_stereotype";
    /** Lower bound of its 95% bootstrap interval. */
    public static final String CI_LOW = "pct_stereotype_ci_low";
    /** Upper bound of its 95% bootstrap interval. */
    public static final String CI_HIGH = "pct_stereotype_ci_high";
    /** Sentence windows per ORT run, as {@code audit bias}'s default. */
    private static final int BATCH = 32;
    /** The bootstrap's seed: the same for every trial, so their intervals are comparable. */
    private static final long SEED = 0;

    private final Path pairsFile;
    private final PairsFormat format;
    private final List<SentencePair> pairs;
    private final int threads;

    private TrialBiasAudit(Path pairsFile, PairsFormat format, List<SentencePair> pairs, int threads) {
        this.pairsFile = pairsFile;
        this.format = format;
        this.pairs = pairs;
        this.threads = threads;
    }

    /**
     * Reads and checks the pairs file now.
     *
     * @throws io.troupe.data.DataException naming the file and line of the first bad row
     */
    public static TrialBiasAudit load(Path pairsFile, PairsFormat format, int threads) throws io.troupe.data.DataException {
        return new TrialBiasAudit(pairsFile, format, PairsFile.read(pairsFile, format), threads);
    }

    /** How many pairs every trial is scored on. */
    public int pairs() {
        return pairs.size();
    }

    @Override
    public Map<String, Double> audit(TrialJob job) throws Exception {
        Path model = job.dir();
        try (ExportedModel m = ExportedModel.open(model, threads)) {
            BiasReport report = BiasAudit.run(new SentenceScorer(m, BATCH), pairs, model, pairsFile, format, SEED, false);
            BiasStatistics.Group all = report.overall();
            return Map.of(PCT_STEREOTYPE, all.pctStereotype(), CI_LOW, all.ciLow(), CI_HIGH, all.ciHigh());
        }
    }
}
