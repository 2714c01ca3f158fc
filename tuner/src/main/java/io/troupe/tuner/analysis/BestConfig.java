package io.troupe.tuner.analysis;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.troupe.tuner.run.TrialSettings;
import io.troupe.tuner.space.SearchSpace;
import io.troupe.tuner.store.StudyInfo;
import io.troupe.tuner.store.TrialRecord;
import io.troupe.worker.train.TrainSettings;
import java.util.Iterator;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * A trial's settings as a train config file ({@code troupe train --config FILE}): every training
 * key the trial ran with (the space's preset, its fixed settings, the sampled values and the
 * schedule that followed --steps), one {@code key = value} line each, so the run can be repeated
 * without the study. Only {@code keep_checkpoints}, which the tuner lowers to 1 for its own disk
 * space, is left to the train command's default.
 */
public final class BestConfig {
    private static final Set<String> LEFT_OUT = Set.of("keep_checkpoints");

    private BestConfig() {
    }

    /** The config text of {@code trial} of {@code study}. */
    public static String render(StudyInfo study, SearchSpace space, TrialRecord trial, String studyDir) {
        TrainSettings settings = TrialSettings.of(space, trial.params(), study.steps());
        JsonNode json = settings.toJson(new ObjectMapper());
        StringBuilder out = new StringBuilder();
        out.append(String.format(Locale.ROOT, "# Trial %d of the study in %s: val loss %.4f after %d steps.%n",
                trial.number(), studyDir, trial.value(), study.steps()));
        out.append("# Train it again with: troupe train --config THIS_FILE --data DATA --out DIR\n");
        out.append("# Sampled: ");
        StringBuilder sampled = new StringBuilder();
        for (Map.Entry<String, Object> e : trial.params().entrySet()) {
            sampled.append(sampled.length() == 0 ? "" : ", ").append(e.getKey()).append(" = ").append(e.getValue());
        }
        out.append(sampled).append('\n');
        for (Iterator<Map.Entry<String, JsonNode>> it = json.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!LEFT_OUT.contains(e.getKey())) {
                out.append(e.getKey()).append(" = ").append(e.getValue().toString()).append('\n');
            }
        }
        return out.toString();
    }
}
