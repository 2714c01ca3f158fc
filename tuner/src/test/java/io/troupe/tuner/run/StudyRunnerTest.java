package io.troupe.tuner.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.troupe.tuner.sampler.Sampler;
import io.troupe.tuner.pruner.Pruner;
import io.troupe.tuner.space.SearchSpace;
import io.troupe.tuner.store.JdbcStudyStore;
import io.troupe.tuner.store.StudyInfo;
import io.troupe.tuner.store.StudyStore;
import io.troupe.tuner.store.TrialRecord;
import io.troupe.tuner.store.TrialState;
import io.troupe.worker.run.TrainListener;
import io.troupe.worker.train.TrainingDivergedException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The study runner with a synthetic training job: slots, pruning, failures and resume. */
class StudyRunnerTest {
    private static final SearchSpace SPACE = SearchSpace.parse("""
            fixed { eval_interval = 10 }
            params { learning_rate { type = log, min = 1e-4, max = 1e-1 } }
            asha { reduction_factor = 3, min_resource = 20 }
            """);
    private static final long STEPS = 60;

    @TempDir
    Path dir;

    /**
     * A fake trial: evaluates every 10 steps; its loss falls with steps and is lowest at
     * lr = 1e-2. lr above 5e-2 "diverges". Records concurrency and what ran.
     */
    static class FakeTraining implements TrialExecutor {
        final AtomicInteger running = new AtomicInteger();
        final AtomicInteger maxRunning = new AtomicInteger();
        final Map<Integer, Boolean> resumed = new ConcurrentHashMap<>();
        final Set<Integer> ran = ConcurrentHashMap.newKeySet();
        /** Where each trial stopped early: a resumed (promoted) one continues there, as from its checkpoint. */
        final Map<Integer, Long> stoppedAt = new ConcurrentHashMap<>();
        final AtomicInteger stepsTrained = new AtomicInteger();

        @Override
        public long run(TrialJob job, TrainListener listener) throws Exception {
            ran.add(job.number());
            resumed.put(job.number(), job.resume());
            maxRunning.accumulateAndGet(running.incrementAndGet(), Math::max);
            try {
                double lr = job.settings().learningRate();
                assertEquals(STEPS, job.settings().maxIters());
                assertEquals(lr / 10, job.settings().minLr(), 1e-15);
                long step = 0;
                long from = job.resume() ? stoppedAt.getOrDefault(job.number(), 0L) : 0L;
                for (step = from + 1; step <= job.settings().maxIters(); step++) {
                    Thread.sleep(1);
                    stepsTrained.incrementAndGet();
                    if (lr > 5e-2 && step == 15) {
                        throw new TrainingDivergedException("training diverged: the loss is NaN at step 15");
                    }
                    if (step % 10 == 0) {
                        listener.onEval(step, 0, Math.abs(Math.log10(lr) + 2) + 10.0 / step);
                    }
                    if (listener.stopRequested()) {
                        stoppedAt.put(job.number(), step);
                        return step;
                    }
                }
                return step - 1;
            } finally {
                running.decrementAndGet();
            }
        }
    }

    private StudyRunner runner(StudyStore store, String sampler, String pruner, FakeTraining training, int slots) {
        return new StudyRunner(name(), dir, SPACE, Sampler.create(sampler, SPACE, 5),
                Pruner.create(pruner, SPACE, STEPS), store, training, slots, STEPS, StudyListener.SILENT);
    }

    private String name() {
        return StudyReports.studyName(dir);
    }

    private StudyInfo info(String sampler, String pruner, int trials) {
        return new StudyInfo(name(), SPACE.canonical(), "/data", sampler, pruner, 5, trials, 1, STEPS, 0);
    }

    @Test
    void trialsRunInParallelSlotsAndPruningStopsTrainingEarly() throws Exception {
        try (StudyStore store = JdbcStudyStore.sqlite(dir)) {
            Studies.begin(store, info("random", "asha", 12), SPACE, false);
            FakeTraining training = new FakeTraining();
            assertEquals(12, runner(store, "random", "asha", training, 3).run(12));
            assertEquals(3, training.maxRunning.get(), "three slots, all used");
            List<TrialRecord> trials = store.trials(name());
            assertEquals(12, trials.size());
            long pruned = trials.stream().filter(t -> t.state() == TrialState.PRUNED).count();
            assertTrue(pruned >= 4, "ASHA with eta 3 prunes most trials: " + trials);
            for (TrialRecord t : trials) {
                assertFalse(t.state() == TrialState.RUNNING, t.toString());
                if (t.state() == TrialState.PRUNED) {
                    assertTrue(t.lastStep() < STEPS, "a pruned trial stopped training: " + t);
                    assertTrue(t.reason().startsWith("asha: "), t.reason());
                }
                if (t.state() == TrialState.COMPLETE) {
                    assertEquals(STEPS, t.lastStep());
                    assertEquals(t.intermediate().values().stream().mapToDouble(Double::doubleValue).min().orElseThrow(),
                            t.value());
                }
            }
        }
    }

    /**
     * One slot, 9 trials, rung at step 20 (eta 3): the first two trials pause there (fewer than
     * eta arrived), and from the third on the best paused one is promoted and resumed from its
     * stop before any new trial starts. Trials still paused when the study ends are PRUNED with
     * a reason that says so; fewer steps are trained than 9 full trials.
     */
    @Test
    void pausedTrialsArePromotedAndResumedFromTheirRung() throws Exception {
        try (StudyStore store = JdbcStudyStore.sqlite(dir)) {
            Studies.begin(store, info("random", "asha", 9), SPACE, false);
            FakeTraining training = new FakeTraining();
            assertEquals(9, runner(store, "random", "asha", training, 1).run(9));
            List<TrialRecord> trials = store.trials(name());
            assertEquals(9, trials.size());
            List<TrialRecord> promoted = trials.stream()
                    .filter(t -> training.resumed.get(t.number()) && t.lastStep() > 20).toList();
            assertFalse(promoted.isEmpty(), "some trial paused at 20 went on later: " + trials);
            assertTrue(trials.stream().anyMatch(t -> t.state() == TrialState.COMPLETE), trials.toString());
            for (TrialRecord t : trials) {
                assertFalse(t.state() == TrialState.RUNNING, t.toString());
                if (t.state() == TrialState.PRUNED) {
                    assertTrue(t.reason().startsWith("asha: not promoted past step 20"), t.reason());
                }
            }
            assertTrue(training.stepsTrained.get() < 9 * STEPS, "ASHA trains less: " + training.stepsTrained.get());
        }
    }

    /**
     * Trial isolation: trial 0 diverges (NaN), trial 1 runs out of memory (an Error, not an
     * Exception), trial 2 throws; each is FAILED with its reason and trial 3 still completes. With
     * --retries 1, a trial whose first attempt throws is run again from scratch and completes.
     */
    @Test
    void failuresOfEveryKindStayInTheirTrialAndRetriesRunThemAgain() throws Exception {
        SearchSpace grid = SearchSpace.parse("params { learning_rate { type = choice, values = [0.01, 0.02, 0.03, 0.04] } }");
        Map<Integer, AtomicInteger> attempts = new ConcurrentHashMap<>();
        TrialExecutor flaky = (job, listener) -> {
            int attempt = attempts.computeIfAbsent(job.number(), n -> new AtomicInteger()).incrementAndGet();
            listener.onEval(10, 0, 2.0);
            switch (job.number()) {
                case 0 -> throw new TrainingDivergedException("training diverged: the loss is NaN at step 12");
                case 1 -> throw new OutOfMemoryError("Java heap space");
                case 2 -> {
                    if (attempt == 1) {
                        throw new IllegalStateException("worker lost");
                    }
                }
                default -> { }
            }
            listener.onEval(STEPS, 0, 1.0);
            return STEPS;
        };
        try (StudyStore store = JdbcStudyStore.sqlite(dir)) {
            store.createStudy(new StudyInfo(name(), grid.canonical(), "/data", "grid", "none", 0, 4, 1, STEPS, 0));
            StudyRunner runner = new StudyRunner(name(), dir, grid, Sampler.create("grid", grid, 0),
                    Pruner.create("none", grid, STEPS), store, flaky, 1, STEPS, StudyListener.SILENT);
            assertEquals(4, runner.run(4));
            List<TrialRecord> trials = store.trials(name());
            assertEquals(List.of(TrialState.FAILED, TrialState.FAILED, TrialState.FAILED, TrialState.COMPLETE),
                    trials.stream().map(TrialRecord::state).toList());
            assertEquals("training diverged: the loss is NaN at step 12", trials.get(0).reason());
            assertTrue(trials.get(1).reason().startsWith("out of memory: Java heap space"), trials.get(1).reason());
            assertEquals("worker lost", trials.get(2).reason());
            assertEquals(1, attempts.get(2).get(), "no retries by default");

            // The same study again with one retry: each failed trial gets one more attempt.
            attempts.clear();
            new StudyRunner(name(), dir, grid, Sampler.create("grid", grid, 0), Pruner.create("none", grid, STEPS), store,
                    flaky, 1, STEPS, StudyListener.SILENT).withRetries(1).run(4);
            trials = store.trials(name());
            assertEquals(List.of(TrialState.FAILED, TrialState.FAILED, TrialState.COMPLETE, TrialState.COMPLETE),
                    trials.stream().map(TrialRecord::state).toList());
            assertEquals(2, attempts.get(0).get(), "a resumed failed trial runs again, then once more on retry");
            assertEquals(2, attempts.get(1).get());
            assertEquals(2, attempts.get(2).get(), "attempt 1 (resume) throws, the retry completes");
        }
    }

    @Test
    void aFailingTrialIsMarkedFailedWithItsReasonAndTheStudyGoesOn() throws Exception {
        SearchSpace grid = SearchSpace.parse("params { learning_rate { type = choice, values = [0.01, 0.09, 0.001] } }");
        try (StudyStore store = JdbcStudyStore.sqlite(dir)) {
            store.createStudy(new StudyInfo(name(), grid.canonical(), "/data", "grid", "none", 0, 10, 1, STEPS, 0));
            FakeTraining training = new FakeTraining();
            StudyRunner runner = new StudyRunner(name(), dir, grid, Sampler.create("grid", grid, 0),
                    Pruner.create("none", grid, STEPS), store, training, 1, STEPS, StudyListener.SILENT);
            assertEquals(3, runner.run(10), "a grid of 3 stops at 3 trials");
            List<TrialRecord> trials = store.trials(name());
            assertEquals(List.of(TrialState.COMPLETE, TrialState.FAILED, TrialState.COMPLETE),
                    trials.stream().map(TrialRecord::state).toList());
            assertEquals("training diverged: the loss is NaN at step 15", trials.get(1).reason());
            assertEquals(10, trials.get(1).lastStep(), "its reports before the failure are kept");
            assertEquals(0, store.bestTrial(name()).orElseThrow());
        }
    }

    @Test
    void onlyCompleteTrialsAreAuditedAndAFailedAuditLeavesTheTrialCompleteWithItsReason() throws Exception {
        SearchSpace grid = SearchSpace.parse("params { learning_rate { type = choice, values = [0.01, 0.09, 0.001, 0.002] } }");
        try (StudyStore store = JdbcStudyStore.sqlite(dir)) {
            store.createStudy(new StudyInfo(name(), grid.canonical(), "/data", "grid", "none", 0, 4, 1, STEPS, 0));
            Set<Integer> audited = ConcurrentHashMap.newKeySet();
            TrialAudit audit = job -> {
                audited.add(job.number());
                if (job.number() == 3) {
                    throw new IllegalStateException("no pair could be encoded");
                }
                return Map.of("pct_stereotype", 50.0 + job.number());
            };
            StudyRunner runner = new StudyRunner(name(), dir, grid, Sampler.create("grid", grid, 0),
                    Pruner.create("none", grid, STEPS), store, new FakeTraining(), 1, STEPS, StudyListener.SILENT, audit);
            assertEquals(4, runner.run(4));
            List<TrialRecord> trials = store.trials(name());
            assertEquals(Set.of(0, 2, 3), audited, "the failed trial 1 is not audited");
            assertEquals(Map.of("pct_stereotype", 50.0), trials.get(0).metrics());
            assertEquals(Map.of(), trials.get(1).metrics());
            assertEquals(Map.of("pct_stereotype", 52.0), trials.get(2).metrics());
            assertEquals(TrialState.COMPLETE, trials.get(3).state());
            assertEquals(Map.of(), trials.get(3).metrics());
            assertEquals("audit failed: no pair could be encoded", trials.get(3).reason());
        }
    }

    @Test
    void aResumedStudyRestartsRunningTrialsAndNeverRerunsFinishedOnes() throws Exception {
        try (StudyStore store = JdbcStudyStore.sqlite(dir)) {
            Studies.begin(store, info("random", "none", 4), SPACE, false);
            // A crash left trial 0 complete and trial 1 running at step 20.
            store.startTrial(name(), 0, Map.of("learning_rate", 0.01));
            store.report(name(), 0, 60, 0.2);
            store.finishTrial(name(), 0, TrialState.COMPLETE, 0.2, null);
            store.startTrial(name(), 1, Map.of("learning_rate", 0.001));
            store.report(name(), 1, 20, 1.5);
            Studies.begin(store, info("random", "none", 4), SPACE, true);
            FakeTraining training = new FakeTraining();
            assertEquals(3, runner(store, "random", "none", training, 2).run(4));
            assertEquals(Set.of(1, 2, 3), training.ran, "trial 0 is not run again");
            assertEquals(Map.of(1, true, 2, false, 3, false), training.resumed);
            List<TrialRecord> trials = store.trials(name());
            assertTrue(trials.stream().allMatch(t -> t.state() == TrialState.COMPLETE), trials.toString());
            assertEquals(Map.of("learning_rate", 0.001), trials.get(1).params(), "the restarted trial keeps its values");
            // Resuming a finished study runs nothing.
            FakeTraining again = new FakeTraining();
            assertEquals(0, runner(store, "random", "none", again, 2).run(4));
            assertTrue(again.ran.isEmpty());
        }
    }

    @Test
    void aResumedStudyRunsItsFailedTrialsAgainFromScratch() throws Exception {
        try (StudyStore store = JdbcStudyStore.sqlite(dir)) {
            Studies.begin(store, info("random", "none", 2), SPACE, false);
            // Trial 0 failed at step 15 after one report (its cause, e.g. lost workers, since gone).
            store.startTrial(name(), 0, Map.of("learning_rate", 0.01));
            store.report(name(), 0, 10, 9.0);
            store.finishTrial(name(), 0, TrialState.FAILED, 9.0, "lost 1 of 2 workers");
            store.startTrial(name(), 1, Map.of("learning_rate", 0.001));
            store.report(name(), 1, 60, 1.2);
            store.finishTrial(name(), 1, TrialState.COMPLETE, 1.2, null);
            FakeTraining training = new FakeTraining();
            assertEquals(1, runner(store, "random", "none", training, 1).run(2));
            assertEquals(Set.of(0), training.ran, "only the failed trial runs again");
            assertEquals(Map.of(0, false), training.resumed, "from scratch, not from a checkpoint");
            TrialRecord again = store.trials(name()).get(0);
            assertEquals(TrialState.COMPLETE, again.state());
            assertEquals(null, again.reason());
            assertEquals(Map.of("learning_rate", 0.01), again.params(), "with its parameters");
            assertEquals(List.of(10L, 20L, 30L, 40L, 50L, 60L), List.copyOf(again.intermediate().keySet()));
            assertEquals(1.0, again.intermediate().get(10L), 1e-12, "the failed attempt's report is replaced");
            assertEquals(10.0 / 60, again.value(), 1e-12, "its value is this attempt's best");
        }
    }

    @Test
    void aFailingStoreStopsTheStudyInsteadOfStartingMoreTrials() throws Exception {
        try (StudyStore real = JdbcStudyStore.sqlite(dir)) {
            Studies.begin(real, info("random", "none", 20), SPACE, false);
            StudyStore broken = new ForwardingStore(real) {
                @Override
                public void report(String study, int number, long step, double value) {
                    if (number == 2) {
                        throw new io.troupe.tuner.store.StoreException("cannot reach the study store (test)", null);
                    }
                    super.report(study, number, step, value);
                }
            };
            FakeTraining training = new FakeTraining();
            io.troupe.tuner.store.StoreException e = org.junit.jupiter.api.Assertions.assertThrows(
                    io.troupe.tuner.store.StoreException.class, () -> runner(broken, "random", "none", training, 1).run(20));
            assertEquals("cannot reach the study store (test)", e.getMessage());
            assertEquals(Set.of(0, 1, 2), training.ran, "no trial starts after the store failed");
        }
    }

    @Test
    void aStopRequestLeavesRunningTrialsResumableAndStartsNoMore() throws Exception {
        try (StudyStore store = JdbcStudyStore.sqlite(dir)) {
            Studies.begin(store, info("random", "none", 6), SPACE, false);
            FakeTraining training = new FakeTraining() {
                @Override
                public long run(TrialJob job, TrainListener listener) throws Exception {
                    return super.run(job, new TrainListener() {
                        @Override
                        public void onEval(long step, double trainLoss, double valLoss) {
                            listener.onEval(step, trainLoss, valLoss);
                            if (job.number() == 1 && step == 20) {
                                stopper.get().requestStop();   // Ctrl-C during trial 1
                            }
                        }

                        @Override
                        public boolean stopRequested() {
                            return listener.stopRequested();
                        }
                    });
                }
            };
            StudyRunner runner = runner(store, "random", "none", training, 2);
            stopper.set(runner);
            runner.run(6);
            assertTrue(runner.stopRequested());
            List<TrialRecord> trials = store.trials(name());
            // Trials 0 and 1 ran side by side; trial 0 may have finished before trial 1 asked to stop.
            assertEquals(2, trials.size(), "no trial starts after the request: " + trials);
            TrialRecord stopped = trials.get(1);
            assertEquals(TrialState.RUNNING, stopped.state(), "it stays RUNNING for --resume: " + stopped);
            assertEquals(20, stopped.lastStep(), "it stopped after the step it was at");
            assertTrue(trials.get(0).state() == TrialState.RUNNING || trials.get(0).state() == TrialState.COMPLETE);

            FakeTraining resumed = new FakeTraining();
            runner(store, "random", "none", resumed, 2).run(6);
            assertEquals(true, resumed.resumed.get(1), "the stopped trial continues from its checkpoint");
            assertEquals(Set.of(1, 2, 3, 4, 5), java.util.stream.Stream.of(1, 2, 3, 4, 5)
                    .filter(resumed.ran::contains).collect(java.util.stream.Collectors.toSet()));
            assertTrue(store.trials(name()).stream().allMatch(t -> t.state() == TrialState.COMPLETE));
        }
    }

    private final java.util.concurrent.atomic.AtomicReference<StudyRunner> stopper = new java.util.concurrent.atomic.AtomicReference<>();

    /** A store that forwards every call; tests override the ones they break. */
    static class ForwardingStore implements StudyStore {
        private final StudyStore delegate;

        ForwardingStore(StudyStore delegate) {
            this.delegate = delegate;
        }

        @Override
        public java.util.Optional<StudyInfo> study(String name) {
            return delegate.study(name);
        }

        @Override
        public void createStudy(StudyInfo study) {
            delegate.createStudy(study);
        }

        @Override
        public List<String> studies() {
            return delegate.studies();
        }

        @Override
        public void setTrials(String study, int trials) {
            delegate.setTrials(study, trials);
        }

        @Override
        public void setData(String study, String data, String dataSha256) {
            delegate.setData(study, data, dataSha256);
        }

        @Override
        public void deleteStudy(String study) {
            delegate.deleteStudy(study);
        }

        @Override
        public void clearValues(String study, int number) {
            delegate.clearValues(study, number);
        }

        @Override
        public void startTrial(String study, int number, Map<String, Object> params) {
            delegate.startTrial(study, number, params);
        }

        @Override
        public void report(String study, int number, long step, double value) {
            delegate.report(study, number, step, value);
        }

        @Override
        public void setMetrics(String study, int number, Map<String, Double> metrics) {
            delegate.setMetrics(study, number, metrics);
        }

        @Override
        public void finishTrial(String study, int number, TrialState state, double value, String reason) {
            delegate.finishTrial(study, number, state, value, reason);
        }

        @Override
        public List<TrialRecord> trials(String study) {
            return delegate.trials(study);
        }

        @Override
        public java.util.Optional<Integer> bestTrial(String study) {
            return delegate.bestTrial(study);
        }

        @Override
        public String describe() {
            return delegate.describe();
        }

        @Override
        public void close() {
        }
    }
}
