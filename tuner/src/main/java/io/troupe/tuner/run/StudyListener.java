package io.troupe.tuner.run;

import io.troupe.tuner.store.TrialRecord;
import java.util.Map;

/** What a running study tells its user (the CLI prints one line per event). */
public interface StudyListener {

    /** A trial started ({@code restarted}: a resumed study continues it from its checkpoint). */
    default void onTrialStart(int number, Map<String, Object> params, boolean restarted) {
    }

    /** A trial reached a final state. */
    default void onTrialEnd(TrialRecord trial) {
    }

    /** A listener that ignores everything. */
    StudyListener SILENT = new StudyListener() {
    };
}
