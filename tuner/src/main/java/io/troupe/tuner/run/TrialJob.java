package io.troupe.tuner.run;

import io.troupe.worker.train.TrainSettings;
import java.nio.file.Path;

/**
 * One trial's training job.
 *
 * @param number the trial number
 * @param settings the full training settings (base + fixed + sampled)
 * @param dir the trial's run directory ({@code DIR/trials/<number>})
 * @param resume continue from the newest checkpoint in {@code dir} (a trial restarted by a resumed study)
 */
public record TrialJob(int number, TrainSettings settings, Path dir, boolean resume) {
}
