package io.troupe.tuner.run;

import io.troupe.tuner.sampler.Observation;
import io.troupe.tuner.sampler.Sampler;
import io.troupe.tuner.pruner.Pruner;
import io.troupe.tuner.space.SearchSpace;
import io.troupe.tuner.store.StoreException;
import io.troupe.tuner.store.StudyStore;
import io.troupe.tuner.store.TrialRecord;
import io.troupe.tuner.store.TrialState;
import io.troupe.worker.run.TrainListener;
import io.troupe.worker.train.TrainSettings;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Set;
import java.util.TreeSet;
import io.troupe.tuner.pruner.AshaPruner;
import io.troupe.tuner.analysis.ParetoFront;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Runs a study: {@code slots} trials at a time (workers / workers per trial), each on its own
 * group of workers; when a trial ends (complete, pruned or failed) its slot starts the next
 * one at once.
 *
 * <p>The runner owns three things: which trial runs next (the sampler, fed the finished trials
 * from the store), when a trial stops (the pruner, asked at every evaluation under one lock
 * so that concurrent reports see each other), and what is recorded (every report and final state
 * goes to the store before anything else acts on it). A resumed study restarts the trials the
 * store still calls RUNNING, from their own directory's newest checkpoint, and runs the FAILED
 * ones again from scratch with the same parameters.
 */
public final class StudyRunner {
    private final String study;
    private final Path dir;
    private final SearchSpace space;
    private final Sampler sampler;
    private final Pruner pruner;
    private final StudyStore store;
    private final TrialExecutor executor;
    private final int slots;
    private final long steps;
    private final StudyListener listener;
    private final TrialAudit audit;
    /** Set by {@link #requestStop}: running trials checkpoint and stop, no new trial starts. */
    private volatile boolean stopping;
    /** Every trial's reported values, mirrored from the store for the pruner. Guarded by itself. */
    private final Map<Integer, NavigableMap<Long, Double>> history = new HashMap<>();
    /** Trials paused at a rung with their checkpoint, waiting for a promotion. Guarded by history. */
    private final Set<Integer> paused = new TreeSet<>();
    /** Every trial's parameters, for a promotion. Guarded by history. */
    private final Map<Integer, Map<String, Object>> params = new HashMap<>();
    /** Each trial's throughput so far: {sum of tokens/s over steps, steps}. Guarded by history. */
    private final Map<Integer, double[]> throughput = new HashMap<>();
    /** The study's objectives; more than one keeps a Pareto front in the store. */
    private final List<ParetoFront.Objective> objectives;
    /** How many times a FAILED trial is run again at once (the retry policy). */
    private int retries;
    /** Trials started and not yet ended. */
    private final AtomicInteger runningCount = new AtomicInteger();
    /** Trials ended so far; its monitor is notified at each end. */
    private final AtomicInteger ended = new AtomicInteger();

    /**
     * @param study the study's name in the store (already created or validated for resume)
     * @param dir the study directory; trial {@code n} trains in {@code dir/trials/n}
     * @param slots how many trials run at once
     * @param steps training steps of a full trial
     */
    public StudyRunner(String study, Path dir, SearchSpace space, Sampler sampler, Pruner pruner, StudyStore store,
                       TrialExecutor executor, int slots, long steps, StudyListener listener) {
        this(study, dir, space, sampler, pruner, store, executor, slots, steps, listener, TrialAudit.NONE);
    }

    /**
     * As above, and every COMPLETE trial's model is measured by {@code audit}, whose metrics the
     * store records as the trial's secondary metrics before the trial counts as finished.
     */
    public StudyRunner(String study, Path dir, SearchSpace space, Sampler sampler, Pruner pruner, StudyStore store,
                       TrialExecutor executor, int slots, long steps, StudyListener listener, TrialAudit audit) {
        if (slots < 1) {
            throw new IllegalArgumentException("a study needs at least one trial slot, got " + slots);
        }
        this.study = study;
        this.dir = dir;
        this.space = space;
        this.sampler = sampler;
        this.pruner = pruner;
        this.store = store;
        this.executor = executor;
        this.slots = slots;
        this.steps = steps;
        this.listener = listener;
        this.audit = audit;
        this.objectives = ParetoFront.of(space);
    }

    /**
     * The retry policy: a trial that fails (diverges, runs out of memory, throws) is run again from
     * scratch up to {@code retries} more times before it stays FAILED. Default 0.
     */
    public StudyRunner withRetries(int retries) {
        if (retries < 0) {
            throw new IllegalArgumentException("retries must be >= 0, got " + retries);
        }
        this.retries = retries;
        return this;
    }

    /**
     * Asks a running {@link #run} to stop soon (Ctrl-C): every running trial stops after its
     * current step, saves a checkpoint there and stays RUNNING in the store, and no new trial
     * starts, so a resumed study continues each from that step. Safe from any thread.
     */
    public void requestStop() {
        stopping = true;
    }

    /** Whether {@link #requestStop} was called. */
    public boolean stopRequested() {
        return stopping;
    }

    /** The directory trial {@code number} trains in. */
    public static Path trialDir(Path studyDir, int number) {
        return studyDir.resolve("trials").resolve(String.valueOf(number));
    }

    /**
     * Runs trials until the study has {@code trials} of them (fewer if a grid is smaller),
     * restarting interrupted ones and running failed ones again first.
     *
     * @return the number of trials started (or restarted) by this call; promotions of paused
     *     trials are not counted
     * @throws StoreException if the store fails (the study cannot record anything more)
     */
    public int run(int trials) throws InterruptedException {
        List<TrialRecord> existing = store.trials(study);
        synchronized (history) {
            for (TrialRecord t : existing) {
                history.put(t.number(), new TreeMap<>(t.intermediate()));
                if (t.state() == TrialState.PRUNED && t.reason() != null && t.reason().startsWith(AshaPruner.PAUSED)) {
                    paused.add(t.number());
                }
                params.put(t.number(), t.params());
            }
        }
        int total = (int) Math.min(trials, sampler.size().orElse(Long.MAX_VALUE));
        ExecutorService pool = Executors.newFixedThreadPool(slots, r -> {
            Thread t = new Thread(r, "troupe-trial");
            t.setDaemon(true);
            return t;
        });
        Semaphore free = new Semaphore(slots);
        List<Future<?>> running = new ArrayList<>();
        AtomicInteger started = new AtomicInteger();
        // A store that fails in a trial's thread cannot record anything more: start no new trials.
        AtomicReference<RuntimeException> storeFailure = new AtomicReference<>();
        try {
            for (TrialRecord t : existing) {
                if (t.state() == TrialState.RUNNING || t.state() == TrialState.FAILED) {
                    free.acquire();
                    if (storeFailure.get() != null || stopping) {
                        free.release();
                        break;
                    }
                    boolean restart = t.state() == TrialState.RUNNING;
                    if (!restart) {
                        // A failed trial runs again from scratch, with its parameters: its cause
                        // (data, memory, lost workers, a bug since fixed) may be gone.
                        store.clearValues(study, t.number());
                        store.startTrial(study, t.number(), t.params());
                        synchronized (history) {
                            history.remove(t.number());
                        }
                    }
                    runningCount.incrementAndGet();
                    running.add(pool.submit(() -> guarded(() -> runTrial(t.number(), t.params(), restart), storeFailure, free)));
                    started.incrementAndGet();
                }
            }
            int next = existing.size();
            int promotions = 0;
            while (true) {
                free.acquire();
                if (storeFailure.get() != null || stopping) {
                    free.release();
                    break;
                }
                // Captured before looking, so a trial that ends meanwhile is not missed by the wait below.
                int endedBefore = ended.get();
                Integer promoted;
                synchronized (history) {
                    promoted = pruner.promotable(history, paused).orElse(null);
                    if (promoted == null && next >= total && runningCount.get() == 0 && !anyComplete()) {
                        // Nothing left to start or promote and nothing reached the end: finish the best paused one.
                        promoted = pruner.finishing(history, paused).orElse(null);
                    }
                    if (promoted != null) {
                        paused.remove(promoted);
                    }
                }
                if (promoted != null) {
                    // ASHA's promotion: the paused trial continues from its checkpoint at the rung.
                    int n = promoted;
                    Map<String, Object> p = params.get(n);
                    store.startTrial(study, n, p);
                    runningCount.incrementAndGet();
                    running.add(pool.submit(() -> guarded(() -> runTrial(n, p, true), storeFailure, free)));
                    promotions++;
                    continue;
                }
                if (next < total) {
                    int n = next++;
                    Map<String, Object> p = sampler.sample(n, observations());
                    store.startTrial(study, n, p);
                    synchronized (history) {
                        params.put(n, p);
                    }
                    runningCount.incrementAndGet();
                    running.add(pool.submit(() -> guarded(() -> runTrial(n, p, false), storeFailure, free)));
                    started.incrementAndGet();
                    continue;
                }
                free.release();
                if (runningCount.get() == 0) {
                    break;
                }
                // A trial that ends may make a paused one promotable: wait for one to end.
                synchronized (ended) {
                    while (ended.get() == endedBefore) {
                        ended.wait();
                    }
                }
            }
            for (Future<?> f : running) {
                f.get();
            }
            if (!stopping && storeFailure.get() == null) {
                finalizePaused();
            }
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException re) {
                throw re;
            }
            throw new IllegalStateException(e.getCause());
        } finally {
            pool.shutdownNow();
        }
        return started.get();
    }

    /** Whether any trial of the study reached the end. */
    private boolean anyComplete() {
        return store.trials(study).stream().anyMatch(t -> t.state() == TrialState.COMPLETE);
    }

    /**
     * The study is over: trials still paused at a rung will never be promoted. Their reason says
     * so, and their checkpoints go (they were kept only for a promotion).
     */
    private void finalizePaused() {
        List<Integer> left;
        synchronized (history) {
            left = new ArrayList<>(paused);
            paused.clear();
        }
        for (TrialRecord t : store.trials(study)) {
            if (!left.contains(t.number())) {
                continue;
            }
            store.finishTrial(study, t.number(), TrialState.PRUNED, t.value(),
                    "asha: not promoted past step " + t.lastStep() + " by the end of the study");
            try {
                executor.trialEnded(new TrialJob(t.number(), null, trialDir(dir, t.number()), false));
            } catch (java.io.IOException e) {
                // Disk space only; the trial is recorded.
            }
        }
    }

    /** Runs a trial, records a failure that must stop the study, then frees the slot (in that order). */
    private void guarded(Runnable trial, AtomicReference<RuntimeException> failure, Semaphore free) {
        try {
            trial.run();
        } catch (RuntimeException e) {
            failure.compareAndSet(null, e);
            throw e;
        } finally {
            runningCount.decrementAndGet();
            free.release();
            synchronized (ended) {
                ended.incrementAndGet();
                ended.notifyAll();
            }
        }
    }

    /** The finished trials a sampler learns from: COMPLETE and PRUNED ones with a value. */
    private List<Observation> observations() {
        List<Observation> out = new ArrayList<>();
        for (TrialRecord t : store.trials(study)) {
            if ((t.state() == TrialState.COMPLETE || t.state() == TrialState.PRUNED) && Double.isFinite(t.value())) {
                out.add(new Observation(t.params(), t.value(), t.lastStep()));
            }
        }
        return out;
    }

    /**
     * Runs a trial; a FAILED one is run again from scratch up to {@code retries} times (the retry
     * policy), each attempt recorded as it ends.
     */
    private void runTrial(int number, Map<String, Object> params, boolean restart) {
        boolean again = restart;
        for (int attempt = 0; ; attempt++) {
            TrialState state = attempt(number, params, again);
            if (state != TrialState.FAILED || attempt >= retries || stopping) {
                return;
            }
            store.clearValues(study, number);
            store.startTrial(study, number, params);
            synchronized (history) {
                history.remove(number);
                throughput.remove(number);
            }
            again = false;
        }
    }

    /** One attempt at a trial; returns the state it ended in (RUNNING if stopped on request). */
    private TrialState attempt(int number, Map<String, Object> params, boolean restart) {
        listener.onTrialStart(number, params, restart);
        Reporter reporter = new Reporter(number);
        TrialJob job = null;
        TrialState state;
        String reason = null;
        boolean pausedNow = false;
        try {
            TrainSettings settings = TrialSettings.of(space, params, steps);
            job = new TrialJob(number, settings, trialDir(dir, number), restart);
            long last = executor.run(job, reporter);
            if (stopping && reporter.pruneReason == null && reporter.pauseReason == null && last < steps) {
                // Interrupted on request: it stays RUNNING, with its checkpoint, for --resume.
                return TrialState.RUNNING;
            }
            // A prune decided at the last step comes too late to save anything: the trial is complete.
            if (reporter.pruneReason != null && last < steps) {
                state = TrialState.PRUNED;
                reason = reporter.pruneReason;
            } else if (reporter.pauseReason != null && last < steps) {
                // Paused at a rung: PRUNED unless promoted later, and its checkpoint is kept for that.
                state = TrialState.PRUNED;
                reason = reporter.pauseReason;
                pausedNow = true;
            } else {
                state = TrialState.COMPLETE;
            }
        } catch (StoreException e) {
            throw e;
        } catch (Exception e) {
            // NaN loss, invalid settings, lost workers: this trial fails, the study goes on.
            state = TrialState.FAILED;
            reason = oneLine(e);
        } catch (OutOfMemoryError e) {
            // A model too big for the heap (or native memory) fails its trial, not the study: the
            // trial's buffers are unreachable once it unwinds, so the next trial has the memory again.
            state = TrialState.FAILED;
            reason = "out of memory: " + oneLine(e) + " (a smaller model, or more -Xmx / MaxDirectMemorySize)";
        }
        double value;
        synchronized (history) {
            value = history.getOrDefault(number, new TreeMap<>()).entrySet().stream()
                    .filter(e -> e.getKey() > 0).mapToDouble(Map.Entry::getValue)
                    .filter(Double::isFinite).min().orElse(Double.NaN);
        }
        double[] tps;
        synchronized (history) {
            tps = throughput.get(number);
        }
        if (tps != null && tps[1] > 0) {
            // Every trial's mean throughput: a second objective of a multi-objective study.
            store.setMetrics(study, number, Map.of(ParetoFront.TOKENS_PER_SECOND, tps[0] / tps[1]));
        }
        if (state == TrialState.COMPLETE && audit != TrialAudit.NONE) {
            // Recorded before the final state, so a COMPLETE trial in the store has its metrics.
            try {
                store.setMetrics(study, number, audit.audit(job));
            } catch (StoreException e) {
                throw e;
            } catch (Exception e) {
                // The model trained fine; only its measurement failed: say so where the table shows it.
                reason = "audit failed: " + oneLine(e);
            }
        }
        store.finishTrial(study, number, state, value, reason);
        if (objectives.size() > 1) {
            recordFront();
        }
        if (pausedNow) {
            synchronized (history) {
                paused.add(number);
            }
        } else if (job != null) {
            try {
                executor.trialEnded(job);
            } catch (java.io.IOException e) {
                // A checkpoint left behind costs disk space, not correctness: the trial is recorded.
            }
        }
        TrialRecord record = store.trials(study).stream().filter(t -> t.number() == number).findFirst().orElseThrow();
        listener.onTrialEnd(record);
        return state;
    }

    /** Keeps the Pareto front in the store: every complete trial's {@code pareto_front} is 1 on it, else 0. */
    private void recordFront() {
        synchronized (history) { // one front update at a time
            List<TrialRecord> all = store.trials(study);
            Set<Integer> front = new TreeSet<>();
            ParetoFront.front(all, objectives).forEach(t -> front.add(t.number()));
            for (TrialRecord t : all) {
                if (t.state() == TrialState.COMPLETE) {
                    store.setMetrics(study, t.number(), Map.of(ParetoFront.FRONT_METRIC, front.contains(t.number()) ? 1.0 : 0.0));
                }
            }
        }
    }

    private static String oneLine(Throwable e) {
        String message = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        return message.strip().replaceAll("\\s*\\R\\s*", " ");
    }

    /** A trial's TrainListener: records each evaluation and asks the pruner whether to go on. */
    private final class Reporter implements TrainListener {
        private final int number;
        private volatile String pruneReason;
        private volatile String pauseReason;

        Reporter(int number) {
            this.number = number;
        }

        @Override
        public void onEval(long step, double trainLoss, double valLoss) {
            synchronized (history) {
                store.report(study, number, step, valLoss);
                history.computeIfAbsent(number, n -> new TreeMap<>()).put(step, valLoss);
                // Step 0 is the untrained model: its loss says nothing about the settings.
                if (step > 0 && pruneReason == null && pauseReason == null) {
                    Pruner.Decision d = pruner.onReport(number, step, valLoss, history);
                    if (d.prune()) {
                        pruneReason = d.reason();
                    } else if (d.pause()) {
                        pauseReason = d.reason();
                    }
                }
            }
        }

        @Override
        public void onStep(StepStats stats) {
            if (Double.isFinite(stats.tokensPerSecond())) {
                synchronized (history) {
                    double[] sum = throughput.computeIfAbsent(number, n -> new double[2]);
                    sum[0] += stats.tokensPerSecond();
                    sum[1]++;
                }
            }
        }

        @Override
        public boolean stopRequested() {
            return pruneReason != null || pauseReason != null || stopping;
        }
    }
}
