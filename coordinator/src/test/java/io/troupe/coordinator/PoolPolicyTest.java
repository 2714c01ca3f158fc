package io.troupe.coordinator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import io.troupe.coordinator.PoolPolicy.Job;
import io.troupe.coordinator.PoolPolicy.Kind;
import io.troupe.coordinator.PoolPolicy.Share;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class PoolPolicyTest {

    private static PoolPolicy policy(int trainingPriority, int trialPriority, int trialQuota) {
        return new PoolPolicy(new PoolPolicy.Settings(new Share(trainingPriority, 1, 100),
                new Share(trialPriority, 1, trialQuota), Duration.ofSeconds(2), false));
    }

    private static Job training(int wants, int holds, boolean starved, boolean mayLend) {
        return new Job("train", Kind.TRAINING, wants, holds, 1, 0, starved, mayLend);
    }

    private static Job trial(String id, long order, int wants, int holds, boolean starved) {
        return new Job(id, Kind.TRIAL, wants, holds, 1, order, starved, true);
    }

    @Test
    void anIdleWorkerGoesToTheHighestPriorityThatWantsOneOldestFirst() {
        PoolPolicy trialsFirst = policy(1, 2, 100);
        List<Job> jobs = List.of(training(3, 1, false, true), trial("t1", 1, 1, 0, false), trial("t2", 2, 1, 0, false));
        assertEquals("t1", trialsFirst.placeIdle(jobs).orElseThrow().id());
        // With training first the same worker grows the job instead.
        assertEquals("train", policy(3, 2, 100).placeIdle(jobs).orElseThrow().id());
        // A trial that has its workers wants none: the job grows by the worker a trial gave back.
        List<Job> trialsServed = List.of(training(3, 1, false, true), trial("t1", 1, 1, 1, false));
        assertEquals("train", trialsFirst.placeIdle(trialsServed).orElseThrow().id());
        // Nobody wants a worker: it stays idle.
        assertTrue(trialsFirst.placeIdle(List.of(training(2, 2, false, true), trial("t1", 1, 1, 1, false))).isEmpty());
    }

    @Test
    void theTrialsQuotaCapsWhatAllTrialsHoldTogether() {
        PoolPolicy quotaOne = policy(1, 2, 1);
        List<Job> jobs = List.of(training(3, 2, false, true), trial("t1", 1, 1, 1, false), trial("t2", 2, 1, 0, true));
        // t2 wants a worker, but trials hold their quota already: the idle worker goes to training...
        assertEquals("train", quotaOne.placeIdle(jobs).orElseThrow().id());
        // ... and t2, though starved and of a higher priority, takes none from it.
        assertTrue(quotaOne.lend(jobs).isEmpty());
        assertEquals("t2", policy(1, 2, 2).lend(jobs).orElseThrow().to().id());
    }

    @Test
    void aStarvedTrialTakesAWorkerFromTheLowerPriorityJobDownToItsMinimum() {
        PoolPolicy trialsFirst = policy(1, 2, 100);
        Job job = training(3, 3, false, true);
        PoolPolicy.Lend lend = trialsFirst.lend(List.of(job, trial("t1", 1, 1, 0, true))).orElseThrow();
        assertEquals("train", lend.from().id());
        assertEquals("t1", lend.to().id());
        // Not starved yet (an idle worker may still come): no lend.
        assertTrue(trialsFirst.lend(List.of(job, trial("t1", 1, 1, 0, false))).isEmpty());
        // The job is at its minimum: it keeps its last worker.
        assertTrue(trialsFirst.lend(List.of(training(3, 1, false, true), trial("t1", 1, 1, 0, true))).isEmpty());
        // The job may lend only after a checkpoint and is not at one.
        assertTrue(trialsFirst.lend(List.of(training(3, 3, false, false), trial("t1", 1, 1, 0, true))).isEmpty());
        // Equal priorities never take from each other.
        assertTrue(policy(2, 2, 100).lend(List.of(job, trial("t1", 1, 1, 0, true))).isEmpty());
        // A starved training job of the higher priority takes from the newest trial above its minimum.
        List<Job> trainingFirst = List.of(training(3, 1, true, true), trial("t1", 1, 2, 2, false),
                trial("t2", 2, 2, 2, false), trial("t3", 3, 1, 1, false));
        PoolPolicy.Lend back = policy(3, 2, 100).lend(trainingFirst).orElseThrow();
        assertEquals("t2", back.from().id());
        assertEquals("train", back.to().id());
    }

    @Test
    void settingsComeFromConfigAndBadOnesAreRefused() {
        PoolPolicy.Settings defaults = PoolPolicy.Settings.fromConfig(ConfigFactory.load());
        assertTrue(defaults.trials().priority() > defaults.training().priority(), "trials come first by default");
        assertEquals(Duration.ofSeconds(2), defaults.lendWait());
        PoolPolicy.Settings custom = PoolPolicy.Settings.fromConfig(ConfigFactory.parseString(
                "troupe.pool { training { priority = 5, min-workers = 2, quota = 3 }, lend-after-checkpoint = on }")
                .withFallback(ConfigFactory.load()));
        assertEquals(new Share(5, 2, 3), custom.training());
        assertTrue(custom.lendAfterCheckpoint());
        assertEquals(2, new PoolPolicy(custom).minimumOf(Kind.TRAINING, 1));
        assertEquals(3, new PoolPolicy(custom).minimumOf(Kind.TRAINING, 3));
        assertThrows(IllegalArgumentException.class, () -> new Share(1, 0, 0));
    }
}
