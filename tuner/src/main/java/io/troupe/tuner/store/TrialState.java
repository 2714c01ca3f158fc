package io.troupe.tuner.store;

/** Where a trial is in its life; every state but RUNNING is final. */
public enum TrialState {
    /** Started and not finished (or its process died: a resumed study restarts it). */
    RUNNING,
    /** Ran to the study's --steps. */
    COMPLETE,
    /** Stopped early by the pruner; the reason says which rule. */
    PRUNED,
    /** Could not finish (diverged loss, invalid settings, lost workers); the reason says why. */
    FAILED
}
