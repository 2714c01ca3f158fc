package io.troupe.tuner.analysis;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.troupe.tuner.run.TrialSettings;
import io.troupe.tuner.space.SearchSpace;
import io.troupe.tuner.store.StudyInfo;
import io.troupe.tuner.store.TrialRecord;
import io.troupe.worker.train.TrainSettings;
import io.troupe.tuner.store.LineageEvent;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * A trial's settings as a train config file ({@code troupe train --config FILE}): every training
 * key the trial ran with (the space's preset, its fixed settings, the sampled values and the
 * schedule that followed --steps), one {@code key = value} line each, so the run can be repeated
 * without the study. Only {@code keep_checkpoints}, which the tuner lowers to 1 for its own disk
 * space, is left to the train command's default.
 *
 * <p>A member of a population-based study did not train with one set of settings: its weights
 * were copied from better members and its settings perturbed on the way. Its file holds its final
 * settings, and its comments say so and list the copies its weights went through (its ancestry),
 * so nobody mistakes training the file again for repeating the PBT run.
 */
public final class BestConfig {
    private static final Set<String> LEFT_OUT = Set.of("keep_checkpoints");

    private BestConfig() {
    }

    /** The config text of {@code trial} of {@code study}, a study without population-based training. */
    public static String render(StudyInfo study, SearchSpace space, TrialRecord trial, String studyDir) {
        return render(study, space, trial, studyDir, List.of());
    }

    /**
     * The config text of {@code trial} of {@code study}.
     *
     * @param lineage the study's exploit events (population-based training), in any order; empty otherwise
     */
    public static String render(StudyInfo study, SearchSpace space, TrialRecord trial, String studyDir,
                                List<LineageEvent> lineage) {
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
        if ("pbt".equals(study.pruner())) {
            out.append(ancestryComment(trial.number(), study.steps(), lineage));
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = json.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!LEFT_OUT.contains(e.getKey())) {
                out.append(e.getKey()).append(" = ").append(e.getValue().toString()).append('\n');
            }
        }
        return out.toString();
    }

    /**
     * The copies the weights of {@code member} went through, latest first: at each, the member
     * then holding the lineage took a better member's weights and continued with new settings.
     */
    static List<LineageEvent> ancestry(int member, long steps, List<LineageEvent> lineage) {
        List<LineageEvent> chain = new ArrayList<>();
        int holder = member;
        long before = steps + 1;
        while (true) {
            LineageEvent latest = null;
            for (LineageEvent e : lineage) {
                if (e.number() == holder && e.step() < before && (latest == null || e.step() > latest.step())) {
                    latest = e;
                }
            }
            if (latest == null) {
                return chain;
            }
            chain.add(latest);
            holder = latest.parent();
            before = latest.step();
        }
    }

    private static String ancestryComment(int member, long steps, List<LineageEvent> lineage) {
        List<LineageEvent> chain = ancestry(member, steps, lineage);
        StringBuilder out = new StringBuilder();
        out.append("# A member of a population-based training study: these are its settings at the end, as one fixed\n")
                .append("# schedule; training this file again does not repeat the PBT run");
        if (chain.isEmpty()) {
            return out.append(" (this member never copied another: it trained\n# with these settings from step 0)\n")
                    .toString();
        }
        out.append(". Its weights' ancestry, latest first:\n");
        for (LineageEvent e : chain) {
            StringBuilder settings = new StringBuilder();
            for (Map.Entry<String, Object> p : e.params().entrySet()) {
                settings.append(settings.length() == 0 ? "" : ", ").append(p.getKey()).append(" = ").append(p.getValue());
            }
            out.append(String.format(Locale.ROOT, "#   step %d: trial %d took trial %d's weights and went on with %s%n",
                    e.step(), e.number(), e.parent(), settings));
        }
        LineageEvent first = chain.get(chain.size() - 1);
        out.append(String.format(Locale.ROOT, "#   steps 0-%d: trial %d with its sampled settings%n", first.step(),
                first.parent()));
        return out.toString();
    }
}
