package io.troupe.tuner.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.troupe.data.corpus.TextCorpus;
import io.troupe.data.corpus.TokenSplit;
import io.troupe.data.tokenize.CharTokenizer;
import io.troupe.tuner.sampler.Sampler;
import io.troupe.tuner.pruner.Pruner;
import io.troupe.tuner.space.SearchSpace;
import io.troupe.tuner.store.JdbcStudyStore;
import io.troupe.tuner.store.StudyInfo;
import io.troupe.tuner.store.StudyStore;
import io.troupe.tuner.store.TrialRecord;
import io.troupe.tuner.store.TrialState;
import io.troupe.worker.engine.EngineOptions;
import io.troupe.worker.run.TrainListener;
import io.troupe.worker.train.TrainSettings;
import io.troupe.worker.run.Trainer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Real training: a trial interrupted by a crash continues from its checkpoint when the study resumes. */
class TrainingExecutorTest {
    private static final SearchSpace SPACE = SearchSpace.parse("""
            fixed { n_layer = 1, n_head = 2, n_embd = 16, block_size = 16, batch_size = 4, eval_iters = 2,
                    eval_interval = 10, warmup_iters = 2 }
            params { learning_rate { type = log, min = 1e-3, max = 1e-2 } }
            """);

    @TempDir
    Path dir;

    /** Trains trial 0 of the crashed process to step 20 with the listener that records it and stops it there. */
    @FunctionalInterface
    private interface Crash {
        void trainTo20(TrainSettings settings, Path data, Path trialDir, TrainListener listener) throws Exception;
    }

    @Test
    void aRunningTrialRestartsFromItsLastCheckpoint() throws Exception {
        restartsFromItsLastCheckpoint(1, (settings, data, trialDir, listener) -> {
            TextCorpus corpus = TextCorpus.load(data);
            CharTokenizer tokenizer = CharTokenizer.fromText(corpus.text());
            Trainer crashed = new Trainer(settings, tokenizer,
                    TokenSplit.encode(corpus, tokenizer, settings.blockSize()), trialDir, EngineOptions.cpu(1));
            crashed.run(false, listener);
            assertEquals(20, crashed.stoppedAt());
        }, List.of(0L, 10L, 20L, 30L));
    }

    @Test
    void aRunningDataParallelTrialRestartsFromItsLastCheckpoint() throws Exception {
        restartsFromItsLastCheckpoint(2, (settings, data, trialDir, listener) -> {
            TextCorpus corpus = TextCorpus.load(data);
            Files.createDirectories(trialDir);
            io.troupe.coordinator.JobSpec spec = new io.troupe.coordinator.JobSpec("crashed", settings,
                    CharTokenizer.fromText(corpus.text()), data.toAbsolutePath(),
                    io.troupe.worker.job.JobSettings.sha256(corpus.text()), trialDir.toAbsolutePath(), 2, "test",
                    java.time.Duration.ofSeconds(60), 10, io.troupe.worker.allreduce.WireFormat.FP32);
            io.troupe.coordinator.JobOutcome outcome = io.troupe.coordinator.ClusterNode.runEmbedded(spec,
                    new io.troupe.worker.session.WorkerSettings(1, io.troupe.worker.engine.Device.cpu(), "test"),
                    io.troupe.worker.allreduce.RingSettings.defaults(), listener);
            assertEquals(20, outcome.summary().steps(), String.valueOf(outcome.failure()));
        }, List.of(10L, 20L, 30L)); // a distributed job does not evaluate the untrained model
    }

    /** The shipped space at a short --steps: its schedule follows the trial (warm-up 3 of 60), so it trains. */
    @Test
    void theShippedSpaceTrainsAtSixtySteps() throws Exception {
        SearchSpace shipped = SearchSpace.load(Path.of("../examples/tune-shakespeare-small.conf"));
        Path data = Files.writeString(dir.resolve("corpus.txt"), "to be or not to be, that is the question\n".repeat(200));
        String name = StudyReports.studyName(dir);
        try (StudyStore store = JdbcStudyStore.sqlite(dir)) {
            StudyInfo study = Studies.begin(store, new StudyInfo(name, shipped.canonical(), data.toString(), "random",
                    "none", 3, 1, 1, 60, 0), shipped, false);
            new StudyRunner(name, dir, shipped, Sampler.create("random", shipped, 3), Pruner.create("none", shipped, 60),
                    store, new TrainingExecutor(data, 1, 1, "test"), 1, 60, StudyListener.SILENT).run(study.trials());
            TrialRecord trial = store.trials(name).get(0);
            assertEquals(TrialState.COMPLETE, trial.state(), trial.reason());
            assertEquals(60L, trial.lastStep());
        }
    }

    /** Per step of one segment: {loss, lr}, and the step it resumed from. */
    private static final class Segment implements TrainListener {
        final Map<Long, double[]> steps = new java.util.TreeMap<>();
        final long until;
        long first = -1;
        long last;

        Segment(long until) {
            this.until = until;
        }

        @Override
        public void onStart(long firstStep, long lastStep, long parameters) {
            first = firstStep;
        }

        @Override
        public void onStep(StepStats stats) {
            last = stats.step();
            steps.put(stats.step(), new double[]{stats.loss(), stats.lr()});
        }

        @Override
        public boolean stopRequested() {
            return last >= until;
        }
    }

    /**
     * PBT's exploit through the real executor: the recipient resumes at the donor's step with its
     * weights, optimizer state and data position (with the donor's settings it repeats the donor's
     * run to the last bit), and a perturbed learning rate takes effect on the recipient's own
     * schedule at that step: the warm-up does not restart and the cosine is not the donor's.
     */
    @Test
    void aTransferredMemberContinuesTheDonorsRunOnItsOwnSchedule() throws Exception {
        Path data = Files.writeString(dir.resolve("corpus.txt"),
                "to be or not to be, that is the question\n".repeat(100) + "whether tis nobler in the mind\n".repeat(100));
        TrainingExecutor real = new TrainingExecutor(data, 1, 1, "test");
        Map<String, Object> donorParams = Map.of("learning_rate", 3e-3);
        Map<String, Object> perturbedParams = Map.of("learning_rate", 3.6e-3);
        TrainSettings donor = TrialSettings.of(SPACE, donorParams, 30);
        TrainSettings perturbed = TrialSettings.of(SPACE, perturbedParams, 30);
        real.run(new TrialJob(0, donor, StudyRunner.trialDir(dir, 0), false), new Segment(10));
        real.transfer(new TrialJob(0, donor, StudyRunner.trialDir(dir, 0), true),
                new TrialJob(1, donor, StudyRunner.trialDir(dir, 1), true));
        real.transfer(new TrialJob(0, donor, StudyRunner.trialDir(dir, 0), true),
                new TrialJob(2, perturbed, StudyRunner.trialDir(dir, 2), true));

        Segment donorGoesOn = new Segment(20);
        real.run(new TrialJob(0, donor, StudyRunner.trialDir(dir, 0), true), donorGoesOn);
        Segment copy = new Segment(20);
        real.run(new TrialJob(1, donor, StudyRunner.trialDir(dir, 1), true), copy);
        Segment explorer = new Segment(20);
        real.run(new TrialJob(2, perturbed, StudyRunner.trialDir(dir, 2), true), explorer);

        assertEquals(10, copy.first);
        assertEquals(10, explorer.first);
        assertEquals(List.copyOf(donorGoesOn.steps.keySet()), List.copyOf(copy.steps.keySet()));
        for (long step = 11; step <= 20; step++) {
            assertEquals(donorGoesOn.steps.get(step)[0], copy.steps.get(step)[0], 0, "same run, step " + step);
            assertEquals(perturbed.schedule().at(step - 1), explorer.steps.get(step)[1], 1e-15,
                    "the recipient's own schedule at the donor's step, step " + step);
            assertEquals(1.2 * donorGoesOn.steps.get(step)[1], explorer.steps.get(step)[1], 1e-12,
                    "min_lr follows the learning rate, so the whole curve scales by 1.2");
        }
        assertEquals(donorGoesOn.steps.get(11L)[0], explorer.steps.get(11L)[0], 0,
                "step 11's loss is the copied weights' on the copied sampler's batch");
        assertTrue(explorer.steps.get(12L)[0] != donorGoesOn.steps.get(12L)[0], "then the larger learning rate shows");
        assertTrue(explorer.steps.get(11L)[1] > perturbed.schedule().at(1), "the warm-up did not restart");
    }

    private void restartsFromItsLastCheckpoint(int workersPerTrial, Crash crash, List<Long> evaluated) throws Exception {
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < 200; i++) {
            text.append("to be or not to be, that is the question ").append(i % 7).append('\n');
        }
        Path data = Files.writeString(dir.resolve("corpus.txt"), text);
        String name = StudyReports.studyName(dir);
        Map<String, Object> params = Map.of("learning_rate", 3e-3);
        try (StudyStore store = JdbcStudyStore.sqlite(dir)) {
            Studies.begin(store, new StudyInfo(name, SPACE.canonical(), data.toString(), "random", "none", 0, 1, workersPerTrial, 30, 0),
                    SPACE, false);
            // The crashed process: trial 0 trained to step 20 (its last checkpoint) and died.
            store.startTrial(name, 0, params);
            TrainSettings settings = TrialSettings.of(SPACE, params, 30);
            crash.trainTo20(settings, data, StudyRunner.trialDir(dir, 0), new TrainListener() {
                private long step;

                @Override
                public void onStep(StepStats stats) {
                    step = stats.step();
                }

                @Override
                public void onEval(long at, double trainLoss, double valLoss) {
                    store.report(name, 0, at, valLoss);
                }

                @Override
                public boolean stopRequested() {
                    return step >= 20;
                }
            });
            assertTrue(Files.isDirectory(StudyRunner.trialDir(dir, 0).resolve("checkpoints")));

            // The resumed study: the executor must start trial 0 at step 20, not 0.
            List<Long> firstSteps = new CopyOnWriteArrayList<>();
            TrainingExecutor real = new TrainingExecutor(data, workersPerTrial, 1, "test");
            TrialExecutor recording = new TrialExecutor() {
                @Override
                public long run(TrialJob job, TrainListener listener) throws Exception {
                    return real.run(job, new TrainListener() {
                        @Override
                        public void onStart(long firstStep, long lastStep, long parameters) {
                            firstSteps.add(firstStep);
                        }

                        @Override
                        public void onEval(long step, double trainLoss, double valLoss) {
                            listener.onEval(step, trainLoss, valLoss);
                        }

                        @Override
                        public boolean stopRequested() {
                            return listener.stopRequested();
                        }
                    });
                }

                @Override
                public void trialEnded(TrialJob job) throws java.io.IOException {
                    real.trialEnded(job);
                }
            };
            Studies.begin(store, new StudyInfo(name, SPACE.canonical(), data.toString(), "random", "none", 0, 1, workersPerTrial, 30, 0),
                    SPACE, true);
            new StudyRunner(name, dir, SPACE, Sampler.create("random", SPACE, 0), Pruner.create("none", SPACE, 30),
                    store, recording, 1, 30, StudyListener.SILENT).run(1);
            assertEquals(List.of(20L), firstSteps);
            TrialRecord trial = store.trials(name).get(0);
            assertEquals(TrialState.COMPLETE, trial.state());
            assertEquals(evaluated, List.copyOf(trial.intermediate().keySet()));
            assertTrue(Files.isRegularFile(StudyRunner.trialDir(dir, 0).resolve("model.onnx")));
            assertFalse(Files.exists(StudyRunner.trialDir(dir, 0).resolve("checkpoints")), "deleted once complete");
        }
    }
}
