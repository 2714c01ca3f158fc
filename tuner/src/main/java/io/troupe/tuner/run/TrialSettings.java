package io.troupe.tuner.run;

import io.troupe.tuner.space.Parameter;
import io.troupe.tuner.space.SearchSpace;
import io.troupe.worker.train.TrainSettings;
import java.util.LinkedHashMap;
import java.util.Map;

/** The training settings of a trial: the space's preset, its fixed settings, then the sampled values. */
public final class TrialSettings {
    private TrialSettings() {
    }

    /**
     * Builds a trial's settings.
     *
     * <p>Some keys follow the trial unless the space sets them, because their preset values
     * would make the comparison unfair: the schedule follows {@code steps} as in
     * {@code troupe train --steps} ({@link TrainSettings#load(String, Map, long)}: lr_decay_iters
     * = steps, warmup_iters scaled with it), {@code min_lr} becomes learning_rate / 10 when the
     * learning rate is sampled (nanoGPT's ratio; a fixed min_lr above a sampled lr would be
     * invalid), and {@code keep_checkpoints} becomes 1 (a trial only needs its newest checkpoint
     * to be restarted).
     *
     * @throws io.troupe.worker.train.SettingsException if the combination is invalid (the trial fails)
     */
    public static TrainSettings of(SearchSpace space, Map<String, Object> params, long steps) {
        Map<String, String> overrides = new LinkedHashMap<>(space.fixed());
        params.forEach((k, v) -> overrides.put(k, Parameter.toHocon(v)));
        if (params.containsKey("learning_rate") && !overrides.containsKey("min_lr")) {
            overrides.put("min_lr", String.valueOf(((Number) params.get("learning_rate")).doubleValue() / 10));
        }
        overrides.putIfAbsent("keep_checkpoints", "1");
        return TrainSettings.load(space.preset(), overrides, steps);
    }
}
