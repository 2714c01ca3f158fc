package io.troupe.tuner.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.troupe.tuner.TuneException;
import io.troupe.tuner.sampler.Sampler;
import io.troupe.tuner.space.SearchSpace;
import io.troupe.tuner.store.JdbcStudyStore;
import io.troupe.tuner.store.LineageEvent;
import io.troupe.tuner.store.StudyInfo;
import io.troupe.tuner.store.StudyStore;
import io.troupe.tuner.store.TrialRecord;
import io.troupe.tuner.store.TrialState;
import io.troupe.worker.run.TrainListener;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Population-based training with a synthetic member whose "weights" are one number. */
class PbtRunnerTest {
    private static final SearchSpace SPACE = SearchSpace.parse("""
            fixed { eval_interval = 10 }
            params {
              learning_rate { type = log, min = 1e-4, max = 1e-1 }
              n_layer { type = int, min = 1, max = 4 }
            }
            pbt { interval = 20, quantile = 0.25, resample_probability = 0.0 }
            """);
    private static final long STEPS = 60;

    @TempDir
    Path dir;

    /**
     * A member's state is its loss so far; each step lowers it by an amount that is largest at
     * lr = 1e-2. transfer copies the state, as a checkpoint copy would.
     */
    static class FakeMembers implements TrialExecutor {
        final Map<Integer, double[]> state = new ConcurrentHashMap<>(); // {loss, step}
        final AtomicLong steps = new AtomicLong();

        @Override
        public long run(TrialJob job, TrainListener listener) {
            double[] s = job.resume() ? state.get(job.number()) : new double[]{5.0, 0};
            double lr = job.settings().learningRate();
            for (long step = (long) s[1] + 1; step <= job.settings().maxIters(); step++) {
                s[0] -= 0.05 / (1 + Math.abs(Math.log10(lr) + 2));
                s[1] = step;
                steps.incrementAndGet();
                listener.onStep(new TrainListener.StepStats(step, job.settings().maxIters(), s[0], lr, 0, 1000, 1));
                if (step % 10 == 0) {
                    listener.onEval(step, s[0], s[0]);
                }
                state.put(job.number(), s);
                if (listener.stopRequested() && step < job.settings().maxIters()) {
                    return step;
                }
            }
            return job.settings().maxIters();
        }

        @Override
        public void transfer(TrialJob from, TrialJob to) {
            assertEquals(from.settings().nLayer(), to.settings().nLayer(), "the copied weights must fit");
            state.put(to.number(), state.get(from.number()).clone());
        }
    }

    private String name() {
        return StudyReports.studyName(dir);
    }

    @Test
    void theBottomQuantileCopiesATopMemberAndPerturbsItsLearningRate() throws Exception {
        try (StudyStore store = JdbcStudyStore.sqlite(dir)) {
            store.createStudy(new StudyInfo(name(), SPACE.canonical(), "/data", "random", "pbt", 3, 8, 1, STEPS, 0));
            FakeMembers members = new FakeMembers();
            PbtRunner pbt = new PbtRunner(name(), dir, SPACE, Sampler.create("random", SPACE, 3), store, members, STEPS, 8,
                    3, StudyListener.SILENT);
            assertEquals(20, pbt.interval());
            pbt.run();
            assertEquals(8 * STEPS, members.steps.get(), "every member trains every step: population x steps");
            List<TrialRecord> trials = store.trials(name());
            assertTrue(trials.stream().allMatch(t -> t.state() == TrialState.COMPLETE && t.lastStep() == STEPS), trials.toString());
            List<LineageEvent> lineage = store.lineage(name());
            // Exploit at steps 20 and 40 (not at 60, the end): 2 of 8 members each time (quantile 0.25).
            assertEquals(4, lineage.size(), lineage.toString());
            assertEquals(List.of(20L, 20L, 40L, 40L), lineage.stream().map(LineageEvent::step).toList());
            for (LineageEvent e : lineage) {
                assertTrue(e.number() != e.parent());
                TrialRecord child = trials.stream().filter(t -> t.number() == e.number()).findFirst().orElseThrow();
                TrialRecord parent = trials.stream().filter(t -> t.number() == e.parent()).findFirst().orElseThrow();
                // At the exploit step the child was among the worst and the parent among the best.
                double childAt = child.intermediate().get(e.step());
                double parentAt = parent.intermediate().get(e.step());
                long worse = trials.stream().filter(t -> t.intermediate().get(e.step()) > parentAt).count();
                assertTrue(worse >= 6, "the parent is in the top 2 of 8 at step " + e.step());
                assertTrue(childAt > parentAt);
                // After the copy, the child continues from the parent's loss (its state), not its own.
                double next = child.intermediate().get(e.step() + 10);
                assertTrue(next < parentAt, "the child went on from the parent's state: " + next + " vs " + parentAt);
                // Shape keys come from the parent: FakeMembers.transfer fails the test if n_layer differs.
            }
            // The last copy's settings are the member's settings in the store.
            LineageEvent last = lineage.get(lineage.size() - 1);
            assertEquals(last.params(), trials.stream().filter(t -> t.number() == last.number()).findFirst().orElseThrow().params());
        }
    }

    /** Three members train at once: the same curves and copies as one at a time. */
    @Test
    void membersTrainingAtOnceGiveTheStudyOfMembersInTurn() throws Exception {
        Path inTurn = java.nio.file.Files.createDirectories(dir.resolve("in-turn"));
        Path atOnce = java.nio.file.Files.createDirectories(dir.resolve("at-once"));
        java.util.concurrent.atomic.AtomicInteger concurrent = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.atomic.AtomicInteger most = new java.util.concurrent.atomic.AtomicInteger();
        FakeMembers parallel = new FakeMembers() {
            @Override
            public long run(TrialJob job, TrainListener listener) {
                most.accumulateAndGet(concurrent.incrementAndGet(), Math::max);
                try {
                    Thread.sleep(20); // long enough for the other slots' members to start alongside
                    return super.run(job, listener);
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                } finally {
                    concurrent.decrementAndGet();
                }
            }
        };
        try (StudyStore a = study(inTurn); StudyStore b = study(atOnce)) {
            runner(inTurn, a, new FakeMembers(), StudyListener.SILENT).run();
            runner(atOnce, b, parallel, StudyListener.SILENT).withSlots(3).run();
            assertEquals(3, most.get(), "three members at once, never more");
            assertEquals(a.lineage(StudyReports.studyName(inTurn)).stream().map(e -> List.of(e.step(), e.number(), e.parent())).toList(),
                    b.lineage(StudyReports.studyName(atOnce)).stream().map(e -> List.of(e.step(), e.number(), e.parent())).toList());
            List<TrialRecord> x = a.trials(StudyReports.studyName(inTurn));
            List<TrialRecord> y = b.trials(StudyReports.studyName(atOnce));
            for (int i = 0; i < x.size(); i++) {
                assertEquals(x.get(i).intermediate(), y.get(i).intermediate(), "member " + i + "'s curve");
                assertEquals(x.get(i).params(), y.get(i).params());
                assertEquals(TrialState.COMPLETE, y.get(i).state());
            }
        }
    }

    /** Runs (or resumes) the 8-member study of {@code studyDir} with {@code members}. */
    private PbtRunner runner(Path studyDir, StudyStore store, TrialExecutor members, StudyListener listener) {
        return new PbtRunner(StudyReports.studyName(studyDir), studyDir, SPACE, Sampler.create("random", SPACE, 3), store,
                members, STEPS, 8, 3, listener);
    }

    private static StudyStore study(Path studyDir) {
        StudyStore store = JdbcStudyStore.sqlite(studyDir);
        store.createStudy(new StudyInfo(StudyReports.studyName(studyDir), SPACE.canonical(), "/data", "random", "pbt", 3, 8,
                1, STEPS, 0));
        return store;
    }

    /**
     * Stopped in the middle of a generation, then killed in the middle of an exploit round, then
     * resumed: the study ends with the copies and the curves of a study that was never interrupted.
     */
    @Test
    void anInterruptedStudyResumesToTheEndOfAnUninterruptedOne() throws Exception {
        Path whole = dir.resolve("whole");
        Path cut = dir.resolve("cut");
        java.nio.file.Files.createDirectories(whole);
        java.nio.file.Files.createDirectories(cut);
        List<LineageEvent> expectedLineage;
        Map<Integer, Map<Long, Double>> expectedValues = new java.util.TreeMap<>();
        try (StudyStore store = study(whole)) {
            runner(whole, store, new FakeMembers(), StudyListener.SILENT).run();
            expectedLineage = store.lineage(StudyReports.studyName(whole));
            store.trials(StudyReports.studyName(whole)).forEach(t -> expectedValues.put(t.number(), t.intermediate()));
        }
        assertEquals(4, expectedLineage.size());

        String name = StudyReports.studyName(cut);
        FakeMembers members = new FakeMembers();
        try (StudyStore store = study(cut)) {
            // 1. Ctrl-C as member 3 starts its second generation (steps 21-40): it stops after step 21.
            PbtRunner[] first = new PbtRunner[1];
            first[0] = runner(cut, store, members, new StudyListener() {
                @Override
                public void onTrialStart(int number, Map<String, Object> params, boolean restarted) {
                    if (number == 3 && restarted) {
                        first[0].requestStop();
                    }
                }
            });
            first[0].run();
            assertEquals(21.0, members.state.get(3)[1], "stopped inside its segment");
            assertEquals(2, store.lineage(name).size(), "the round at step 20 was done");

            // 2. Killed during the round at step 40, after its first copy.
            AtomicLong copies = new AtomicLong();
            TrialExecutor dying = new TrialExecutor() {
                @Override
                public void transfer(TrialJob from, TrialJob to) {
                    if (copies.incrementAndGet() == 2) {
                        throw new IllegalStateException("killed");
                    }
                    members.transfer(from, to);
                }

                @Override
                public long run(TrialJob job, TrainListener listener) {
                    return members.run(job, listener);
                }
            };
            assertThrows(TuneException.class, () -> runner(cut, store, dying, StudyListener.SILENT).run());
            assertEquals(3, store.lineage(name).size(), "one copy of the round at step 40 was recorded");

            // 3. Resumed to the end.
            runner(cut, store, members, StudyListener.SILENT).run();
            assertEquals(expectedLineage, store.lineage(name), "the same copies, with the same perturbed settings");
            for (TrialRecord t : store.trials(name)) {
                assertEquals(TrialState.COMPLETE, t.state());
                assertEquals(expectedValues.get(t.number()), t.intermediate(), "the curve of member " + t.number());
            }
        }
    }

    /** A member that throws because the process is going down on Ctrl-C is not failed for good. */
    @Test
    void aMemberThatThrowsWhileTheStudyStopsStaysResumable() throws Exception {
        String name = name();
        FakeMembers members = new FakeMembers();
        try (StudyStore store = study(dir)) {
            PbtRunner[] first = new PbtRunner[1];
            TrialExecutor tornDown = new TrialExecutor() {
                @Override
                public long run(TrialJob job, TrainListener listener) {
                    if (first[0].stopRequested()) {
                        throw new IllegalStateException("Attempt to use DefaultLogger but none has been registered");
                    }
                    return members.run(job, listener);
                }

                @Override
                public void transfer(TrialJob from, TrialJob to) {
                    members.transfer(from, to);
                }
            };
            first[0] = runner(dir, store, tornDown, new StudyListener() {
                @Override
                public void onTrialStart(int number, Map<String, Object> params, boolean restarted) {
                    if (number == 3 && restarted) {
                        first[0].requestStop();
                    }
                }
            });
            first[0].run();
            assertEquals(TrialState.RUNNING, store.trials(name).stream().filter(t -> t.number() == 3).findFirst()
                    .orElseThrow().state());
            runner(dir, store, members, StudyListener.SILENT).run();
            assertTrue(store.trials(name).stream().allMatch(t -> t.state() == TrialState.COMPLETE && t.lastStep() == STEPS),
                    store.trials(name).toString());
        }
    }

    @Test
    void exploreMultipliesByPointEightOrOnePointTwoAndCopiesShapeKeys() {
        PbtRunner pbt = new PbtRunner("s", dir, SPACE, Sampler.create("random", SPACE, 0), null, null, STEPS, 4, 0,
                StudyListener.SILENT);
        Map<String, Object> parent = Map.of("learning_rate", 1e-3, "n_layer", 3L);
        for (int i = 0; i < 20; i++) {
            Map<String, Object> child = pbt.explore(parent);
            double ratio = (Double) child.get("learning_rate") / 1e-3;
            assertTrue(Math.abs(ratio - 0.8) < 1e-9 || Math.abs(ratio - 1.2) < 1e-9, "ratio " + ratio);
            assertEquals(3L, child.get("n_layer"), "a shape key is copied, never perturbed");
        }
    }

    @Test
    void aPopulationOfOneIsRefused() {
        TuneException e = assertThrows(TuneException.class, () -> new PbtRunner("s", dir, SPACE,
                Sampler.create("random", SPACE, 0), null, null, STEPS, 1, 0, StudyListener.SILENT));
        assertTrue(e.getMessage().startsWith("population-based training needs a population of at least 2, got 1"),
                e.getMessage());
    }
}
