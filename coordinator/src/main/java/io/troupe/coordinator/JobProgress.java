package io.troupe.coordinator;

import io.troupe.coordinator.Membership.Member;
import io.troupe.data.source.DataSource;
import io.troupe.worker.checkpoint.Checkpoint;
import io.troupe.worker.checkpoint.CheckpointStore;
import io.troupe.worker.job.ElasticShare;
import io.troupe.worker.job.JobSettings;
import io.troupe.worker.job.SampleLedger;
import io.troupe.worker.job.SampleOrder;
import io.troupe.worker.job.protocol.RunStep;
import io.troupe.worker.job.protocol.StepDone;
import io.troupe.worker.metrics.ModelFlops;
import io.troupe.worker.plane.StateExchange;
import io.troupe.worker.bert.MaskedTokens;
import io.troupe.worker.run.MetricsLog;
import io.troupe.worker.run.SummaryFile;
import io.troupe.worker.run.TrainListener;
import io.troupe.worker.run.TrainSummary;
import io.troupe.worker.train.Cadence;
import io.troupe.worker.train.NonFiniteSteps;
import io.troupe.worker.train.LearningRateSchedule;
import java.io.IOException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;

/**
 * How far one job got, and everything it reports about it: the committed step, each step's
 * shares of the global batch, the collected {@link StepDone} reports, the sample ledger, the
 * fault counters (membership changes, recoveries, skipped steps), metrics.jsonl,
 * coordinator.json and summary.json.
 */
final class JobProgress {
    private final JobSpec spec;
    private final TrainListener listener;
    private final Logger log;
    private final LearningRateSchedule schedule;
    private final Cadence cadence;
    private final int globalBatch;
    private final ModelFlops flops;
    private final long parameters;
    private final long startNanos = System.nanoTime();
    private final Map<Integer, StepDone> reports = new HashMap<>();
    private final List<Double> recoverySeconds = new ArrayList<>();
    private long committed;
    private long fallbackStep = -1;
    private SampleLedger ledger;
    private long membershipChanges;
    private NonFiniteSteps nonFinite;
    private long recoveringSinceNanos;
    private MetricsLog metrics;
    private JobEventLog events;
    private long stepStartNanos;
    private double slowestRecentStepSeconds;
    private double trainSeconds;
    private double computeMillis;
    private double allreduceMillis;
    /** The part of allreduceMillis the backward pass did not hide. */
    private double allreduceExposedMillis;
    private long allreduceBytesTotal;
    private long trainedSteps;
    private double lastTrainEval = Double.NaN;
    private double lastValEval = Double.NaN;
    private double lastMaskedAccuracy = Double.NaN;
    private double bestVal = Double.POSITIVE_INFINITY;

    JobProgress(JobSpec spec, TrainListener listener, Logger log) {
        this.spec = spec;
        this.listener = listener;
        this.log = log;
        this.schedule = spec.settings().schedule();
        this.cadence = Cadence.of(spec.settings());
        this.globalBatch = spec.settings().batchSize();
        this.nonFinite = NonFiniteSteps.of(spec.settings());
        this.parameters = spec.finetune() != null && spec.finetune().translate() ? spec.finetune().seq2seqParameters()
                : spec.settings().backbone(spec.tokenizer().vocabSize()).layout().size();
        this.flops = ModelFlops.of(spec.settings().model(spec.tokenizer().vocabSize()), globalBatch,
                spec.settings().blockSize());
    }

    /**
     * Opens the data once to count samples per epoch, and the resumed state if any; opens
     * metrics.jsonl. Returns why the job cannot start, if it cannot.
     *
     * @param coordinatorState where a resumed checkpoint is served (null when not resuming)
     */
    Optional<String> open(StateExchange coordinatorState) {
        try {
            int perEpoch;
            if (spec.finetune() != null && spec.finetune().translate()) {
                // An encoder-decoder's samples are slots of its length-bucketed batches; the workers check the dataset.
                log.info("job {} trains an encoder-decoder on {} ({} samples per epoch)", spec.jobId(), spec.dataPath(),
                        spec.finetune().trainExamples());
                perEpoch = spec.finetune().trainExamples();
            } else if (spec.finetune() != null && spec.finetune().classify()) {
                // A classifier's samples are its labelled training examples; the workers check the file's hash.
                log.info("job {} fine-tunes a classifier on {} ({} training examples)", spec.jobId(), spec.dataPath(),
                        spec.finetune().trainExamples());
                perEpoch = spec.finetune().trainExamples();
            } else {
                DataSource data = DataSource.open(spec.dataPath()).requireSha256(spec.dataSha256(), "the job's")
                        .withTokenizer(spec.tokenizer(), "the job's");
                log.info("job {} trains on {}", spec.jobId(), data.description());
                long trainTokens = data.split(spec.settings().blockSize()).train().length();
                perEpoch = SampleOrder.samplesPerEpoch(trainTokens, spec.settings().blockSize());
            }
            if (spec.resume()) {
                Optional<String> failure = resume(perEpoch, coordinatorState);
                if (failure.isPresent()) {
                    return failure;
                }
            } else {
                ledger = new SampleLedger(perEpoch, 0);
                JobFile.of(spec).write(spec.outDir());
            }
            metrics = spec.resume() && committed > 0 ? MetricsLog.resume(spec.outDir(), committed)
                    : MetricsLog.open(spec.outDir());
            events = JobEventLog.open(spec.outDir(), Clock.systemUTC(), log);
            events.jobStarted(spec.jobId(), committed, spec.resume());
        } catch (Exception e) {
            return Optional.of(e.getMessage());
        }
        return Optional.empty();
    }

    /** Takes over the newest good checkpoint and the fault counters of a crashed coordinator. */
    private Optional<String> resume(int perEpoch, StateExchange coordinatorState) throws Exception {
        String identity = JobSettings.resumeIdentity(spec.settings(), spec.tokenizer().vocabSize());
        CheckpointStore store = new CheckpointStore(spec.outDir(), spec.settings().keepCheckpoints());
        Optional<Checkpoint> latest = store.latest(identity);
        if (latest.isEmpty()) {
            return Optional.of("there is no checkpoint to resume in " + store.directory()
                    + "; start the job without --resume");
        }
        Checkpoint c = latest.get();
        if (c.trainingStep() > spec.settings().maxIters()) {
            return Optional.of("the newest checkpoint is at step " + c.trainingStep() + ", past max_iters = "
                    + spec.settings().maxIters() + "; resume with --steps " + c.trainingStep() + " or more");
        }
        committed = c.trainingStep();
        fallbackStep = committed;
        coordinatorState.offer(spec.jobId(), committed, c);
        ledger = new SampleLedger(perEpoch, committed * globalBatch);
        CoordinatorState saved = CoordinatorState.read(spec.outDir());
        if (saved != null && saved.step() == committed) {
            membershipChanges = saved.membershipChanges();
            recoverySeconds.addAll(saved.recoverySeconds());
            nonFinite = new NonFiniteSteps(spec.settings().maxNonfiniteSteps(), saved.stepsSkipped());
        } else if (saved != null) {
            log.warn("{} is of step {} but the newest good checkpoint is of step {}; the fault "
                    + "counters restart from there", CoordinatorState.FILE, saved.step(), committed);
        }
        log.info("resuming job {} from the checkpoint of step {}", spec.jobId(), committed);
        return Optional.empty();
    }

    /** The last step every ring member completed. */
    /** True for a step that neither evaluates nor writes a checkpoint (its length is the step's own). */
    boolean routine(long step) {
        return !cadence.evaluates(step) && !cadence.checkpoints(step);
    }

    long committed() {
        return committed;
    }

    /** The step of the checkpoint this coordinator serves (a resumed job), or -1. */
    long fallbackStep() {
        return fallbackStep;
    }

    double slowestRecentStepSeconds() {
        return slowestRecentStepSeconds;
    }

    /** True when the job's last step is committed. */
    boolean lastStepDone() {
        return committed >= spec.settings().maxIters();
    }

    /** True when the job ends early at a stop request; it then exports no model. */
    boolean stopRequested() {
        // DiLoCo stops on an outer step: only there is there one state to keep.
        return committed < spec.settings().maxIters() && committed > 0 && atOuterStep() && listener.stopRequested();
    }

    /**
     * True when the committed step is an outer step: always in sync mode; in DiLoCo every
     * inner_steps steps, the only boundaries where the ring may change without losing the
     * round's inner steps.
     */
    boolean atOuterStep() {
        return spec.settings().sync().outerStepAt(committed);
    }

    /**
     * The step a new ring can continue from at least: the committed step in sync mode; in
     * DiLoCo the last outer step, since the workers drop the inner steps of a broken round.
     */
    long ringBase() {
        return spec.settings().sync().lastOuterStep(committed);
    }

    /**
     * A new ring continues from {@code planStep}: a worker that finished the interrupted step
     * makes it count; a DiLoCo ring that lost inner steps goes back to its last outer step.
     */
    void continueFrom(long planStep) {
        if (planStep == committed + 1) {
            commitInterruptedStep();
        } else if (planStep < committed) {
            log.warn("DiLoCo: the ring continues from the outer step {}; the {} inner step(s) since are lost",
                    planStep, committed - planStep);
            committed = planStep;
        }
    }

    /** The ring is re-formed; after a failure, the time to recover is measured until a step completes. */
    void ringBroken(boolean failure) {
        if (failure) {
            listener.onWorkerFailure();
        }
        if (failure && recoveringSinceNanos == 0) {
            recoveringSinceNanos = System.nanoTime();
        }
        reports.clear();
    }

    /** The ring of a new plan replaced {@code changes} members of the last one. */
    void membershipChanged(long changes) {
        membershipChanges += changes;
    }

    /** A ring of {@code ringSize} is formed: tells the listener, and that training starts the first time. */
    void ringFormed(int ringSize) {
        listener.onRingFormed(ringSize);
        if (trainedSteps == 0 && recoverySeconds.isEmpty()) {
            listener.onStart(committed, spec.settings().maxIters(), parameterCount());
        }
    }

    /** A worker finished the interrupted step before the ring broke: its update includes every gradient of it. */
    void commitInterruptedStep() {
        ledger.record(committed * globalBatch, globalBatch);
        committed++;
        log.info("step {} completed on some worker before the failure; it counts", committed);
    }

    /** Sends each ring member its share of the next step. */
    void startStep(List<Member> ring, long generation) {
        long step = committed + 1;
        reports.clear();
        boolean verify = (step % spec.verifyInterval() == 0 || step == spec.settings().maxIters())
                && spec.settings().sync().outerStepAt(step); // DiLoCo workers agree only on outer steps
        long stepStart = (step - 1) * globalBatch;
        stepStartNanos = System.nanoTime();
        for (int rank = 0; rank < ring.size(); rank++) {
            ElasticShare share = ElasticShare.of(globalBatch, spec.settings().gradAccum(), ring.size(), rank, stepStart);
            ring.get(rank).tell(new RunStep(spec.jobId(), step, schedule.at(step - 1), cadence.evaluates(step),
                    cadence.checkpoints(step), verify, generation, share.sampleFrom(), share.rows(), share.microBatch(),
                    share.accumulation(), ring.size(), globalBatch));
        }
    }

    /** Collects one rank's report of the running step; true when every rank of the ring has reported. */
    boolean report(StepDone d, int ringSize) {
        reports.put(d.rank(), d);
        return reports.size() >= ringSize;
    }

    /** The ranks that have not reported the running step. */
    List<Integer> missing(int ringSize) {
        List<Integer> missing = new ArrayList<>();
        for (int rank = 0; rank < ringSize; rank++) {
            if (!reports.containsKey(rank)) {
                missing.add(rank);
            }
        }
        return missing;
    }

    /**
     * Commits the running step once every rank reported: averages the reports, records the
     * samples, reports to the listener and writes metrics and coordinator state as the cadence
     * says. Returns why the job must stop, if it must.
     */
    Optional<String> commitStep(int ringSize) {
        long step = committed + 1;
        double seconds = (System.nanoTime() - stepStartNanos) / 1e9;
        slowestRecentStepSeconds = Math.max(seconds, 0.9 * slowestRecentStepSeconds);
        trainSeconds += seconds;
        trainedSteps++;
        double loss = 0;
        double trainEval = 0;
        double valEval = 0;
        double stepAllreduceMillis = 0;
        double stepExposedMillis = 0;
        boolean evaluated = reports.get(0).evalBatches() > 0;
        boolean skipped = false;
        for (int rank = 0; rank < ringSize; rank++) {
            StepDone r = reports.get(rank);
            loss += r.loss() * r.rows() / globalBatch;
            trainEval += r.trainEvalLoss() / ringSize;
            valEval += r.valEvalLoss() / ringSize;
            computeMillis += r.computeMs() / ringSize;
            stepAllreduceMillis += r.allreduceMs() / ringSize;
            stepExposedMillis += r.allreduceExposedMs() / ringSize;
            skipped |= r.skipped();
        }
        reports.values().forEach(r -> ledger.record(r.sampleFrom(), r.rows()));
        committed = step;
        if (recoveringSinceNanos != 0) {
            double recovery = (System.nanoTime() - recoveringSinceNanos) / 1e9;
            recoverySeconds.add(recovery);
            recoveringSinceNanos = 0;
            log.info("recovered: step {} completed {} s after the failure", step,
                    String.format(Locale.ROOT, "%.2f", recovery));
        }
        Optional<String> diverged = countNonFinite(step, skipped);
        if (diverged.isPresent()) {
            return diverged;
        }
        double lr = schedule.at(step - 1);
        double tokensPerSecond = (double) globalBatch * spec.settings().blockSize() / seconds;
        allreduceMillis += stepAllreduceMillis;
        allreduceExposedMillis += stepExposedMillis;
        long stepBytes = spec.settings().sync().outerStepAt(step) ? ringBytes(ringSize) : 0;
        allreduceBytesTotal += stepBytes;
        double mfu = flops.ratio(seconds);
        listener.onStep(new TrainListener.StepStats(step, spec.settings().maxIters(), loss, lr,
                reports.get(0).gradNorm(), tokensPerSecond, seconds * 1000, mfu, ringSize, stepAllreduceMillis,
                stepBytes, stepExposedMillis));
        MetricsLog.Entry entry = MetricsLog.Entry.train(step, loss, lr, tokensPerSecond).withMfu(mfu);
        if (evaluated) {
            lastTrainEval = trainEval;
            lastValEval = valEval;
            bestVal = Math.min(bestVal, valEval);
            entry = entry.withValLoss(valEval);
            listener.onEval(step, trainEval, valEval);
            double accuracy = pooledMaskedAccuracy(ringSize);
            if (!Double.isNaN(accuracy)) {
                lastMaskedAccuracy = accuracy;
                entry = entry.withValMaskedAccuracy(accuracy);
                listener.onMaskedAccuracy(step, accuracy);
            }
        }
        try {
            if (cadence.logs(step)) {
                metrics.append(entry);
            }
            if (cadence.checkpoints(step)) {
                events.checkpoint(step, new CheckpointStore(spec.outDir(), spec.settings().keepCheckpoints())
                        .pathOf(step));
                new CoordinatorState(spec.jobId(), step, ledger.duplicated(), membershipChanges,
                        List.copyOf(recoverySeconds), nonFinite.skipped()).write(spec.outDir());
            }
        } catch (IOException e) {
            return Optional.of("cannot write to " + spec.outDir() + ": " + e.getMessage());
        }
        return Optional.empty();
    }

    /**
     * An MLM encoder's masked-token accuracy over every rank's val batches, pooled as hits over
     * masked positions (as a local run pools its own batches), so no worker's share weighs more
     * than its masked count; NaN for a GPT or when any rank sent no counts.
     */
    private double pooledMaskedAccuracy(int ringSize) {
        List<MaskedTokens> parts = new ArrayList<>();
        for (int rank = 0; rank < ringSize; rank++) {
            Optional<MaskedTokens> counts = reports.get(rank).valMasked();
            if (counts.isEmpty()) {
                return Double.NaN;
            }
            parts.add(counts.get());
        }
        return MaskedTokens.pooled(parts).accuracy();
    }

    /**
     * Counts a step whose loss or averaged gradient was not finite (its update was skipped); too many in
     * a row stop the run. Returns why it must stop, if it must.
     */
    private Optional<String> countNonFinite(long step, boolean skipped) {
        if (nonFinite.record(skipped)) {
            return Optional.of(nonFinite.divergedMessage(step,
                    "the newest in " + spec.outDir().resolve(CheckpointStore.DIRECTORY)));
        }
        if (skipped) {
            log.warn("step {}: the loss or averaged gradient is not finite; the update was skipped ({} in a row)",
                    step, nonFinite.inARow());
        }
        return Optional.empty();
    }

    /** Compares the committed step's parameter checksums; true when a worker drifted from the majority. */
    boolean parametersDiffer() {
        Map<Long, Integer> votes = new HashMap<>();
        for (StepDone r : reports.values()) {
            if (r.paramChecksum() != 0) {
                votes.merge(r.paramChecksum(), 1, Integer::sum);
            }
        }
        if (votes.size() > 1) {
            log.warn("step {}: worker parameters differ ({} distinct checksums); resyncing the minority from a peer",
                    committed, votes.size());
        }
        return votes.size() > 1;
    }

    /** Writes summary.json for a job that ended with a ring of {@code ringSize}, and returns the summary. */
    TrainSummary writeSummary(int ringSize) throws IOException {
        long cursor = committed * globalBatch;
        TrainSummary summary = new TrainSummary(committed, lastTrainEval, lastValEval, bestVal,
                trainedSteps * (double) globalBatch * spec.settings().blockSize() / trainSeconds,
                (System.nanoTime() - startNanos) / 1e9, parameterCount());
        Map<String, Object> extra = new LinkedHashMap<>();
        // Mean per step over workers: forward+backward vs the gradient all-reduce.
        extra.put("compute_ms_per_step", computeMillis / trainedSteps);
        extra.put("allreduce_ms_per_step", allreduceMillis / trainedSteps);
        // Communication the backward pass did not hide, as a share of the steps' wall time (issue 18).
        extra.put("allreduce_exposed_ms_per_step", allreduceExposedMillis / trainedSteps);
        extra.put("allreduce_exposed_fraction", trainSeconds > 0 ? allreduceExposedMillis / (1000 * trainSeconds) : 0);
        extra.put("allreduce_bytes_total", allreduceBytesTotal);
        extra.put("step_ms", 1000 * trainSeconds / trainedSteps);
        extra.put("samples_consumed", ledger.consumed());
        extra.put("samples_duplicated", ledger.duplicated());
        extra.put("samples_lost", ledger.lost(cursor));
        extra.put("membership_changes", membershipChanges);
        extra.put("recovery_seconds", List.copyOf(recoverySeconds));
        extra.put("steps_skipped", nonFinite.skipped());
        extra.put("precision", spec.settings().precision().label());
        // From events.jsonl, which a resumed coordinator appends to: the history of every coordinator of the job.
        extra.put("fault_history", FaultHistory.read(spec.outDir()).toJson());
        if (!Double.isNaN(lastMaskedAccuracy)) {
            extra.put("final_val_masked_accuracy", lastMaskedAccuracy);
        }
        SummaryFile.write(spec.outDir(), summary, spec.settings(), spec.tokenizer().vocabSize(),
                spec.tokenizer().type(), ringSize, extra, spec.data());
        return summary;
    }

    /**
     * Gradient bytes all workers of a ring of {@code ringSize} send in one all-reduce: each sends
     * 2(N-1)/N of the gradient (reduce-scatter, then all-gather) in the job's wire format.
     */
    private long ringBytes(int ringSize) {
        if (ringSize < 2) {
            return 0;
        }
        // DiLoCo's outer all-reduce carries the pseudo-gradient and both AdamW moments.
        long elements = spec.settings().sync().diloco() ? 3 * parameters : parameters;
        return 2L * (ringSize - 1) * elements * spec.wire().bytesPerElement();
    }

    private long parameterCount() {
        return parameters;
    }

    /** The job's event log (events.jsonl); open once {@link #open} succeeded. */
    JobEventLog events() {
        return events;
    }

    /** Closes metrics.jsonl and events.jsonl, noting how the job ended ({@code error} null: it finished). */
    void close(String error) {
        if (events != null) {
            JobEventLog closing = events;
            events = null;
            closing.jobEnded(committed, error);
            try {
                closing.close();
            } catch (IOException e) {
                log.warn("closing {} failed: {}", JobEventLog.FILE, e.getMessage());
            }
        }
        close();
    }

    /** Closes metrics.jsonl. */
    void close() {
        if (metrics != null) {
            MetricsLog closing = metrics;
            metrics = null;
            try {
                closing.close();
            } catch (IOException e) {
                log.warn("closing metrics.jsonl failed: {}", e.getMessage());
            }
        }
    }
}
