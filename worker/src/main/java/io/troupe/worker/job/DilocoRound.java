package io.troupe.worker.job;

import io.troupe.worker.engine.FlatBuffer;
import io.troupe.worker.train.AdamW;
import io.troupe.worker.train.OuterNesterov;
import io.troupe.worker.train.SyncSettings;
import java.nio.FloatBuffer;

/**
 * One worker's DiLoCo state between outer steps: the outer parameters and AdamW state of the
 * last outer step (what every worker agrees on), and the outer optimizer.
 *
 * <p>At an outer step the workers all-reduce, in one call, the pseudo-gradient
 * {@code outer - local} and their AdamW moments ({@code [3P]}: delta | m | v). Averaging the
 * moments as well (DiLoCo proper keeps them per worker) makes the whole training state after an
 * outer step the same on every worker, so a checkpoint, a joining worker's state transfer and a
 * resume on any worker count hold exactly the state the run continues from; it triples the
 * bytes of an outer step, still H/3 times fewer than synchronous data parallelism moves in H
 * steps. Between outer steps the workers' parameters differ; after a failure every worker goes
 * back to the outer state ({@link #revert}), so a failure loses at most the inner steps since.
 */
final class DilocoRound {
    /** Checkpoint extra-state key of the outer momentum, two floats' bits per long. */
    static final String OUTER_MOMENTUM = "diloco_outer_momentum";

    private final SyncSettings sync;
    private final float[] outer;
    private final OuterNesterov optimizer;
    private AdamW.State outerAdam;
    private long outerStep;
    private FlatBuffer wire;

    /** The round that starts from {@code params} and {@code adam} as they are now, after {@code step}. */
    DilocoRound(SyncSettings sync, float[] params, AdamW adam, long step) {
        this.sync = sync;
        this.outer = params.clone();
        this.optimizer = new OuterNesterov(params.length, sync.outerLr(), sync.outerMomentum());
        this.outerAdam = adam.exportState();
        this.outerStep = step;
    }

    /** The step of the last outer update (the state every worker agrees on). */
    long outerStep() {
        return outerStep;
    }

    /**
     * The outer step after inner step {@code step}: averages the pseudo-gradient and the
     * moments over the ring, applies Nesterov to the outer parameters, and sets {@code params}
     * and {@code adam} to the new outer state.
     */
    void outerStep(long step, float[] params, AdamW adam, GradientReducer reducer) throws ReductionException {
        int n = params.length;
        AdamW.State inner = adam.exportState();
        float[] delta = new float[n];
        for (int i = 0; i < n; i++) {
            delta[i] = outer[i] - params[i];
        }
        if (wire == null) {
            wire = FlatBuffer.allocate(3L * n);
        }
        FloatBuffer b = wire.floats();
        b.clear();
        b.put(delta).put(inner.m()).put(inner.v());
        b.flip();
        reducer.allReduceMean(b, step);
        b.rewind();
        float[] m = new float[n];
        float[] v = new float[n];
        b.get(delta).get(m).get(v);
        optimizer.step(outer, delta);
        FlatBuffer.copy(outer, params);
        // Workers may have skipped different non-finite inner steps; the training step is the
        // one step count they all share, so bias correction continues from it everywhere.
        adam.importState(new AdamW.State(step, m, v));
        outerAdam = adam.exportState();
        outerStep = step;
    }

    /** Puts the last outer state back into {@code params} and {@code adam}; returns its step. */
    long revert(float[] params, AdamW adam) {
        FlatBuffer.copy(outer, params);
        adam.importState(outerAdam);
        return outerStep;
    }

    /** The outer momentum as checkpoint extra state. */
    long[] momentumState() {
        return pack(optimizer.momentum());
    }

    /** Continues from a restored state: its parameters and moments are the outer ones. */
    void restore(float[] params, AdamW adam, long step, long[] momentum) {
        if (!sync.outerStepAt(step)) {
            throw new IllegalArgumentException("the state of step " + step + " is not an outer step of inner_steps "
                    + sync.innerSteps() + "; a DiLoCo run continues only from an outer step");
        }
        FlatBuffer.copy(params, outer);
        outerAdam = adam.exportState();
        outerStep = step;
        if (momentum == null) {
            optimizer.reset();
        } else {
            optimizer.restore(unpack(momentum, params.length));
        }
    }

    /** Whether {@code step} ends with an outer step. */
    boolean outerStepAt(long step) {
        return sync.outerStepAt(step);
    }

    static long[] pack(float[] values) {
        long[] out = new long[(values.length + 1) / 2];
        for (int i = 0; i < values.length; i++) {
            long bits = Float.floatToRawIntBits(values[i]) & 0xFFFF_FFFFL;
            out[i / 2] |= (i % 2 == 0) ? bits : bits << 32;
        }
        return out;
    }

    static float[] unpack(long[] packed, int length) {
        if (packed.length != (length + 1) / 2) {
            throw new IllegalArgumentException("the outer momentum holds " + packed.length * 2L
                    + " floats but the model has " + length + " parameters");
        }
        float[] out = new float[length];
        for (int i = 0; i < length; i++) {
            long word = packed[i / 2];
            out[i] = Float.intBitsToFloat((int) (i % 2 == 0 ? word : word >>> 32));
        }
        return out;
    }
}
