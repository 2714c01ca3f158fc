package io.troupe.tuner.analysis;

import io.troupe.errors.TroupeException.Kind;
import io.troupe.tuner.TuneException;
import io.troupe.tuner.report.StudyResults;
import io.troupe.tuner.space.SearchSpace;
import io.troupe.tuner.store.TrialRecord;
import io.troupe.tuner.store.TrialState;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * Multi-objective studies: the objectives a study optimises, the Pareto front of its complete
 * trials, and the rule that picks one trial from the front.
 *
 * <p>The first objective is always what the sampler and pruner optimise (a trial's best val
 * loss); the others are per-trial metrics the runner records: {@code tokens_per_second} (the
 * trial's mean training throughput, maximised) for every trial, {@code pct_stereotype} with a
 * bias audit. A trial is on the front if no other complete trial is at least as good on every
 * objective and better on one. The front is kept in the store as the metric
 * {@value #FRONT_METRIC} (1 on the front, 0 off it) of every complete trial.
 */
public final class ParetoFront {
    /** The metric that marks a trial on the front. */
    public static final String FRONT_METRIC = "pareto_front";
    /** The metric every trial records: its mean training throughput. */
    public static final String TOKENS_PER_SECOND = "tokens_per_second";
    /** The primary objective's name. */
    public static final String VAL_LOSS = "val_loss";

    private ParetoFront() {
    }

    /**
     * One objective.
     *
     * @param name val_loss or a trial metric's name
     * @param maximize whether larger is better
     */
    public record Objective(String name, boolean maximize) {
        /** {@code NAME} (known direction) or {@code NAME:min|max}. */
        public static Objective parse(String text) {
            String s = text.strip();
            int colon = s.indexOf(':');
            if (colon >= 0) {
                String dir = s.substring(colon + 1);
                if (!dir.equals("min") && !dir.equals("max")) {
                    throw new TuneException(Kind.USAGE, "objective '" + text + "': the direction after ':' must be min or max");
                }
                return new Objective(s.substring(0, colon), dir.equals("max"));
            }
            return new Objective(s, s.equals(TOKENS_PER_SECOND));
        }

        /** The objective's value for a trial (NaN if it has none). */
        public double of(TrialRecord t) {
            return name.equals(VAL_LOSS) ? t.value() : t.metric(name);
        }

        @Override
        public String toString() {
            return name + ":" + (maximize ? "max" : "min");
        }
    }

    /**
     * Parses {@code --objective a,b,...}: the first must be val_loss (what trials are trained and
     * pruned on); each must be something trials report.
     *
     * @param reported the metric names trials of this study report (besides val_loss)
     */
    public static List<Objective> parseList(String text, List<String> reported) {
        List<Objective> out = new ArrayList<>();
        for (String part : text.split(",")) {
            if (part.isBlank()) {
                throw new TuneException(Kind.USAGE, "--objective '" + text + "' has an empty name; list names separated by commas");
            }
            Objective o = Objective.parse(part);
            if (!o.name().equals(VAL_LOSS) && !reported.contains(o.name())) {
                throw new TuneException(Kind.USAGE, "--objective " + o.name() + ": the trials do not report it; they report "
                        + VAL_LOSS + (reported.isEmpty() ? "" : ", " + String.join(", ", reported)));
            }
            if (out.stream().anyMatch(x -> x.name().equals(o.name()))) {
                throw new TuneException(Kind.USAGE, "--objective lists " + o.name() + " twice");
            }
            out.add(o);
        }
        if (!out.get(0).name().equals(VAL_LOSS) || out.get(0).maximize()) {
            throw new TuneException(Kind.USAGE, "--objective must start with val_loss (the loss trials are trained, sampled"
                    + " and pruned on), e.g. val_loss," + TOKENS_PER_SECOND);
        }
        return List.copyOf(out);
    }

    /** The objectives a study's space records ({@code objectives = [...]}), else val_loss alone. */
    public static List<Objective> of(SearchSpace space) {
        if (!space.options().hasPath("objectives")) {
            return List.of(new Objective(VAL_LOSS, false));
        }
        return space.options().getStringList("objectives").stream().map(Objective::parse).toList();
    }

    /** The complete trials no other complete trial dominates, by the first objective. */
    public static List<TrialRecord> front(List<TrialRecord> trials, List<Objective> objectives) {
        List<TrialRecord> done = trials.stream().filter(t -> t.state() == TrialState.COMPLETE)
                .filter(t -> objectives.stream().allMatch(o -> Double.isFinite(o.of(t)))).toList();
        List<TrialRecord> out = new ArrayList<>();
        for (TrialRecord t : done) {
            if (done.stream().noneMatch(u -> u != t && dominates(u, t, objectives))) {
                out.add(t);
            }
        }
        out.sort(Comparator.comparingDouble((TrialRecord t) -> score(objectives.get(0), t)).thenComparingInt(TrialRecord::number));
        return out;
    }

    /** Whether {@code a} is at least as good as {@code b} on every objective and better on one. */
    static boolean dominates(TrialRecord a, TrialRecord b, List<Objective> objectives) {
        boolean better = false;
        for (Objective o : objectives) {
            double sa = score(o, a);
            double sb = score(o, b);
            if (sa > sb) {
                return false;
            }
            better |= sa < sb;
        }
        return better;
    }

    /** Lower is better. */
    private static double score(Objective o, TrialRecord t) {
        return o.maximize() ? -o.of(t) : o.of(t);
    }

    /**
     * The trial {@code study best} names: with one objective and no rule, the best complete trial;
     * otherwise the front's trial by {@code rule}: {@code first} (best on the first objective),
     * {@code knee} (nearest the ideal point with each objective scaled to [0, 1] over the front) or
     * {@code NAME:min|max} (best on that objective of the study).
     */
    public static TrialRecord pick(StudyResults results, String rule) {
        List<Objective> objectives = of(io.troupe.tuner.space.SearchSpace.parse(results.study().space()));
        if (rule == null && objectives.size() == 1) {
            return results.best().orElseThrow(() -> noneComplete(results));
        }
        List<TrialRecord> front = front(results.trials(), objectives);
        if (front.isEmpty()) {
            throw noneComplete(results);
        }
        String r = rule == null ? "first" : rule;
        if (r.equals("first")) {
            return front.get(0);
        }
        if (r.equals("knee")) {
            return knee(front, objectives);
        }
        Objective by = Objective.parse(r);
        Optional<Objective> known = objectives.stream().filter(o -> o.name().equals(by.name())).findFirst();
        if (known.isEmpty()) {
            throw new TuneException(Kind.USAGE, "--pick " + rule + ": the study's objectives are " + objectives
                    + "; pick first, knee, or one of them as NAME:min|max");
        }
        return front.stream().min(Comparator.comparingDouble((TrialRecord t) -> score(by, t))
                .thenComparingInt(TrialRecord::number)).orElseThrow();
    }

    private static TrialRecord knee(List<TrialRecord> front, List<Objective> objectives) {
        TrialRecord best = null;
        double bestDistance = Double.POSITIVE_INFINITY;
        for (TrialRecord t : front) {
            double d = 0;
            for (Objective o : objectives) {
                double lo = front.stream().mapToDouble(u -> score(o, u)).min().orElse(0);
                double hi = front.stream().mapToDouble(u -> score(o, u)).max().orElse(0);
                double x = hi > lo ? (score(o, t) - lo) / (hi - lo) : 0;
                d += x * x;
            }
            if (d < bestDistance) {
                bestDistance = d;
                best = t;
            }
        }
        return best;
    }

    private static TuneException noneComplete(StudyResults results) {
        return new TuneException(Kind.INPUT_DATA, String.format(Locale.ROOT,
                "no trial of the study in %s has completed (with every objective measured); run troupe tune --out DIR"
                        + " --resume to finish it", results.study().name()));
    }
}
