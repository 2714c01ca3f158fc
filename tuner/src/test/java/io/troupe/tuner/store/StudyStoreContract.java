package io.troupe.tuner.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** What every study store must do; run against SQLite always and PostgreSQL when one is given. */
abstract class StudyStoreContract {

    /** A fresh store (tests use their own study names, so a shared PostgreSQL database is fine). */
    abstract StudyStore store() throws Exception;

    static StudyInfo study(String name) {
        return new StudyInfo(name, "params.dropout.max = 0.1\n", "/data/input.txt", "tpe", "asha", 7, 8, 2, 600,
                1_700_000_000_000L);
    }

    static String uniqueName() {
        return "/tmp/study-" + UUID.randomUUID();
    }

    @Test
    void recordsAStudyAndItsTrialsWithParametersValuesAndStates() throws Exception {
        try (StudyStore store = store()) {
            String name = uniqueName();
            assertEquals(Optional.empty(), store.study(name));
            store.createStudy(study(name));
            assertEquals(Optional.of(study(name)), store.study(name));
            store.setTrials(name, 12);
            assertEquals(12, store.study(name).orElseThrow().trials());

            Map<String, Object> params = new LinkedHashMap<>();
            params.put("learning_rate", 3.0e-4);
            params.put("n_layer", 4L);
            params.put("bias", true);
            params.put("init", "normal");
            store.startTrial(name, 0, params);
            store.startTrial(name, 1, Map.of("learning_rate", 1e-3));
            store.startTrial(name, 2, Map.of("learning_rate", 1e-2));
            store.report(name, 0, 0, 4.2);
            store.report(name, 0, 100, 2.5);
            store.report(name, 0, 100, 2.4);  // a restarted trial reports the same step again
            store.report(name, 0, 200, 2.1);
            store.report(name, 1, 100, Double.NaN);
            store.finishTrial(name, 0, TrialState.COMPLETE, 2.1, null);
            store.finishTrial(name, 1, TrialState.FAILED, Double.NaN, "training diverged: the loss is NaN at step 101");
            assertEquals(Optional.of(0), store.bestTrial(name));

            List<TrialRecord> trials = store.trials(name);
            assertEquals(3, trials.size());
            TrialRecord t0 = trials.get(0);
            assertEquals(params, t0.params());
            assertEquals(List.copyOf(params.keySet()), List.copyOf(t0.params().keySet()), "parameter order");
            assertEquals(TrialState.COMPLETE, t0.state());
            assertEquals(2.1, t0.value());
            assertEquals(Map.of(0L, 4.2, 100L, 2.4, 200L, 2.1), t0.intermediate());
            assertEquals(200, t0.lastStep());
            assertTrue(t0.finishedAt() >= t0.startedAt() && t0.startedAt() > 0);
            TrialRecord t1 = trials.get(1);
            assertEquals(TrialState.FAILED, t1.state());
            assertTrue(Double.isNaN(t1.value()));
            assertTrue(Double.isNaN(t1.intermediate().get(100L)));
            assertEquals("training diverged: the loss is NaN at step 101", t1.reason());
            assertEquals(TrialState.RUNNING, trials.get(2).state());
            assertEquals(0, trials.get(2).finishedAt());

            store.finishTrial(name, 2, TrialState.COMPLETE, 1.9, null);
            assertEquals(Optional.of(2), store.bestTrial(name));
            store.finishTrial(name, 2, TrialState.PRUNED, 1.9, "asha: ...");
            assertEquals(Optional.of(0), store.bestTrial(name), "only COMPLETE trials can be best");
        }
    }

    @Test
    void aRestartedTrialKeepsItsParametersAndIsRunningAgain() throws Exception {
        try (StudyStore store = store()) {
            String name = uniqueName();
            store.createStudy(study(name));
            store.startTrial(name, 0, Map.of("dropout", 0.05));
            store.finishTrial(name, 0, TrialState.FAILED, Double.NaN, "lost workers");
            store.startTrial(name, 0, Map.of("dropout", 0.05));
            TrialRecord t = store.trials(name).get(0);
            assertEquals(TrialState.RUNNING, t.state());
            assertEquals(null, t.reason());
            assertEquals(Map.of("dropout", 0.05), t.params());
        }
    }

    @Test
    void studiesInOneStoreAreSeparate() throws Exception {
        try (StudyStore store = store()) {
            String a = uniqueName();
            String b = uniqueName();
            store.createStudy(study(a));
            store.createStudy(study(b));
            store.startTrial(a, 0, Map.of("dropout", 0.1));
            store.report(a, 0, 10, 3.0);
            assertEquals(1, store.trials(a).size());
            assertEquals(0, store.trials(b).size());
        }
    }

    /** Eight trials report 40 values each and finish, all at the same moment. */
    @Test
    void severalTrialsReportAtOnce() throws Exception {
        int trials = 8;
        int reports = 40;
        try (StudyStore store = store()) {
            String name = uniqueName();
            store.createStudy(study(name));
            for (int t = 0; t < trials; t++) {
                store.startTrial(name, t, Map.of("trial", (long) t));
            }
            ExecutorService pool = Executors.newFixedThreadPool(trials);
            CountDownLatch start = new CountDownLatch(1);
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < trials; t++) {
                int trial = t;
                done.add(pool.submit(() -> {
                    start.await();
                    for (int i = 1; i <= reports; i++) {
                        store.report(name, trial, i * 10L, trial + 1.0 / i);
                    }
                    store.finishTrial(name, trial, TrialState.COMPLETE, trial + 1.0 / reports, null);
                    return null;
                }));
            }
            start.countDown();
            for (Future<?> f : done) {
                f.get(120, TimeUnit.SECONDS);
            }
            pool.shutdown();
            List<TrialRecord> stored = store.trials(name);
            assertEquals(trials, stored.size());
            for (TrialRecord t : stored) {
                assertEquals(TrialState.COMPLETE, t.state());
                assertEquals(reports, t.intermediate().size(), "trial " + t.number());
                assertEquals(t.number() + 1.0 / reports, t.intermediate().get(reports * 10L), 1e-12);
            }
            assertEquals(Optional.of(0), store.bestTrial(name));
        }
    }

    @Test
    void deletingAStudyRemovesItsTrialsAndValuesAndNoOtherStudys() throws Exception {
        try (StudyStore store = store()) {
            String gone = uniqueName();
            String kept = uniqueName();
            for (String name : List.of(gone, kept)) {
                store.createStudy(study(name));
                store.startTrial(name, 0, Map.of("learning_rate", 1e-3));
                store.report(name, 0, 10, 2.0);
                store.report(name, 0, 20, 1.5);
            }
            store.clearValues(kept, 0);
            assertTrue(store.trials(kept).get(0).intermediate().isEmpty(), "a trial run again starts without values");
            store.report(kept, 0, 10, 1.9);
            store.deleteStudy(gone);
            assertEquals(Optional.empty(), store.study(gone));
            assertTrue(store.trials(gone).isEmpty());
            assertTrue(store.studies().contains(kept) && !store.studies().contains(gone));
            assertEquals(1, store.trials(kept).get(0).intermediate().size());
            store.createStudy(study(gone)); // the name is free again
            store.setData(gone, "../data/input.txt", "ab".repeat(32));
            assertEquals("../data/input.txt", store.study(gone).orElseThrow().data());
            assertEquals("ab".repeat(32), store.study(gone).orElseThrow().dataSha256());
        }
    }

    @Test
    void secondaryMetricsAreRecordedPerTrialAndGoWithItsValues() throws Exception {
        try (StudyStore store = store()) {
            String name = uniqueName();
            store.createStudy(study(name));
            store.startTrial(name, 0, Map.of("learning_rate", 1e-3));
            store.startTrial(name, 1, Map.of("learning_rate", 1e-2));
            store.setMetrics(name, 0, Map.of("pct_stereotype", 55.0, "pct_stereotype_ci_low", 40.0));
            store.setMetrics(name, 0, Map.of("pct_stereotype", 52.5)); // replaces by name, keeps the others
            store.finishTrial(name, 0, TrialState.COMPLETE, 1.5, null);
            store.finishTrial(name, 1, TrialState.PRUNED, 2.5, "pruned");
            List<TrialRecord> trials = store.trials(name);
            assertEquals(Map.of("pct_stereotype", 52.5, "pct_stereotype_ci_low", 40.0), trials.get(0).metrics());
            assertEquals(Map.of(), trials.get(1).metrics());
            assertTrue(Double.isNaN(trials.get(1).metric("pct_stereotype")));
            store.clearValues(name, 0);
            assertEquals(Map.of(), store.trials(name).get(0).metrics(), "a trial run again from scratch loses them");
            store.setMetrics(name, 1, Map.of("pct_stereotype", 50.0));
            store.deleteStudy(name);
            store.createStudy(study(name));
            store.startTrial(name, 1, Map.of("learning_rate", 1e-2));
            assertEquals(Map.of(), store.trials(name).get(0).metrics(), "a deleted study leaves no metrics behind");
        }
    }
}
