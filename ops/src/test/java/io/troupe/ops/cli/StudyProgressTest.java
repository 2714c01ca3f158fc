package io.troupe.ops.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.troupe.tuner.pruner.AshaPruner;
import io.troupe.tuner.store.StudyInfo;
import io.troupe.tuner.store.TrialRecord;
import io.troupe.tuner.store.TrialState;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** tune's plain progress lines: trials ended (a paused trial is not), time elapsed and left. */
class StudyProgressTest {

    private static TrialRecord trial(int number, TrialState state, String reason) {
        return new TrialRecord(number, state, Map.of("lr", 0.1), 3.0, reason, 0, 0, new TreeMap<>(Map.of(10L, 3.0)));
    }

    @Test
    void afterEachTrialEndItSaysHowManyEndedAndAboutHowLongIsLeft() {
        StringWriter text = new StringWriter();
        AtomicLong now = new AtomicLong(5_000_000_000L);
        StudyProgress progress = new StudyProgress(new PrintWriter(text), false, false, now::get);
        progress.study(Path.of("/s"), new StudyInfo("/s", "", "/d", "random", "asha", 0, 4, 1, 30, 0), 2, -1);
        now.addAndGet(60_000_000_000L);
        progress.onTrialEnd(trial(0, TrialState.COMPLETE, null));
        now.addAndGet(30_000_000_000L);
        progress.onTrialEnd(trial(1, TrialState.PRUNED, AshaPruner.PAUSED + " at rung 0"));
        progress.onTrialEnd(trial(2, TrialState.PRUNED, "asha: below the rung's top 1 of 3"));
        now.addAndGet(3_630_000_000_000L);
        progress.onTrialEnd(trial(1, TrialState.COMPLETE, null));
        progress.onTrialEnd(trial(3, TrialState.FAILED, "diverged"));
        List<String> lines = text.toString().lines().filter(l -> l.startsWith("progress:")).toList();
        assertEquals(List.of(
                "progress: 1 of 4 trials ended, 1m00s elapsed, about 3m00s left",
                "progress: 2 of 4 trials ended, 1m30s elapsed, about 1m30s left",
                "progress: 3 of 4 trials ended, 1h02m elapsed, about 20m40s left",
                "progress: 4 of 4 trials ended, 1h02m elapsed"), lines, text.toString());
    }
}
