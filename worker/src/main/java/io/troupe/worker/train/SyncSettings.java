package io.troupe.worker.train;

import java.util.Locale;

/**
 * How the workers of a job combine their work: every step (synchronous data parallelism, the
 * default) or, with DiLoCo, every {@code innerSteps} local AdamW steps through an outer
 * Nesterov-SGD step on the averaged change of the parameters (the pseudo-gradient).
 *
 * @param mode {@link Mode#SYNC} or {@link Mode#DILOCO}
 * @param innerSteps H: local steps between two outer steps (DiLoCo only)
 * @param outerLr the outer optimizer's learning rate (DiLoCo only)
 * @param outerMomentum the outer optimizer's Nesterov momentum (DiLoCo only)
 */
public record SyncSettings(Mode mode, int innerSteps, double outerLr, double outerMomentum) {
    static final String MODE = "sync";
    static final String INNER_STEPS = "inner_steps";
    static final String OUTER_LR = "outer_lr";
    static final String OUTER_MOMENTUM = "outer_momentum";

    /** Synchronisation modes. */
    public enum Mode {
        SYNC, DILOCO;

        /** The name in settings and on the command line. */
        public String key() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    public SyncSettings {
        if (mode == null) {
            throw new SettingsException("setting sync is required: sync or diloco");
        }
        if (innerSteps < 1) {
            throw new SettingsException("inner_steps must be >= 1, got " + innerSteps);
        }
        if (!(outerLr > 0) || !(outerMomentum >= 0 && outerMomentum < 1)) {
            throw new SettingsException("outer_lr must be > 0 and outer_momentum in [0, 1), got " + outerLr + " and "
                    + outerMomentum);
        }
    }

    /** Synchronous data parallelism with the reference outer settings (unused). */
    public static SyncSettings sync() {
        return new SyncSettings(Mode.SYNC, 100, 0.7, 0.9);
    }

    /** True for DiLoCo. */
    public boolean diloco() {
        return mode == Mode.DILOCO;
    }

    /** True when {@code step} (1-based) ends with an outer step: every step in sync mode. */
    public boolean outerStepAt(long step) {
        return !diloco() || step % innerSteps == 0;
    }

    /** The last outer-step boundary at or before {@code step} (the step itself in sync mode). */
    public long lastOuterStep(long step) {
        return diloco() ? step - step % innerSteps : step;
    }

    static Mode parseMode(String value) {
        for (Mode m : Mode.values()) {
            if (m.key().equals(value)) {
                return m;
            }
        }
        throw new SettingsException("setting sync = '" + value + "' is unknown; use sync or diloco");
    }

    /**
     * Why a DiLoCo run of these settings cannot keep its promises, or null. Evaluations,
     * checkpoints and the last step must fall on outer steps: only there are the workers'
     * parameters one state (the outer parameters) that can be evaluated, saved and exported.
     */
    public static String problem(TrainSettings s) {
        SyncSettings sync = s.sync();
        if (!sync.diloco()) {
            return null;
        }
        int h = sync.innerSteps();
        if (s.maxIters() % h != 0) {
            return "--steps " + s.maxIters() + " is not a multiple of --inner-steps " + h
                    + ": a DiLoCo run must end on an outer step; use --steps " + roundUp(s.maxIters(), h);
        }
        if (s.evalInterval() % h != 0) {
            return "eval_interval " + s.evalInterval() + " is not a multiple of --inner-steps " + h
                    + ": DiLoCo evaluates the outer parameters; set eval_interval=" + roundUp(s.evalInterval(), h);
        }
        if (s.checkpointInterval() % h != 0) {
            return "checkpoint_interval " + s.checkpointInterval() + " is not a multiple of --inner-steps " + h
                    + ": DiLoCo checkpoints the outer state; set checkpoint_interval="
                    + roundUp(s.checkpointInterval(), h);
        }
        return null;
    }

    private static long roundUp(long value, long multiple) {
        return (value + multiple - 1) / multiple * multiple;
    }
}
