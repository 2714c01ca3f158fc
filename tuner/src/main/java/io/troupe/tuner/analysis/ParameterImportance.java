package io.troupe.tuner.analysis;

import io.troupe.tuner.space.Parameter;
import io.troupe.tuner.space.SearchSpace;
import io.troupe.tuner.store.TrialRecord;
import io.troupe.tuner.store.TrialState;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * How much of the objective's spread each parameter explains, from the finished trials alone.
 *
 * <p>This is the first-order term of a functional ANOVA (Hutter et al., "An Efficient Approach
 * for Assessing Hyperparameter Importance", ICML 2014) estimated directly from the trials rather
 * than from a random-forest surrogate: for each parameter the trials are grouped by its value
 * (categoricals by choice; numbers into {@link #BINS} equal-count bins, in log space for log
 * ranges), and its importance is the share of the objective's variance that lies between the
 * groups' means (the correlation ratio, eta squared). Only COMPLETE trials count: a pruned
 * trial's value was measured at fewer steps and is not the same objective. With few trials the
 * estimate is noisy and parameters that vary together share credit; the report says how many
 * trials it used.
 */
public final class ParameterImportance {
    /** Bins of a numeric parameter. */
    public static final int BINS = 4;

    private ParameterImportance() {
    }

    /**
     * Why importance means nothing for a study with {@code pruner}, or null when it applies.
     * A population-based study's members change their settings as they copy better members and
     * perturb them, so a member's recorded (final) settings are not the ones that produced its
     * value; ranking them would credit whatever the last perturbation drew.
     */
    public static String notApplicableTo(String pruner) {
        return "pbt".equals(pruner)
                ? "a population-based study's members change their settings during training (copies and perturbations),"
                        + " so their final settings did not produce their val losses; importance compares trials"
                        + " trained with fixed settings (the lineage in report.html shows what each member went through)"
                : null;
    }

    /**
     * One parameter's importance.
     *
     * @param key the parameter
     * @param varianceExplained eta squared in [0, 1]
     * @param share its part of the sum over all parameters (0 if the sum is 0)
     */
    public record Importance(String key, double varianceExplained, double share) {
    }

    /** The result: importances, most important first, and the number of trials used. */
    public record Result(List<Importance> importances, int trials) {
    }

    /** Importances of every parameter of {@code space} over the COMPLETE trials with a finite value. */
    public static Result of(SearchSpace space, List<TrialRecord> trials) {
        List<TrialRecord> used = trials.stream()
                .filter(t -> t.state() == TrialState.COMPLETE && Double.isFinite(t.value())).toList();
        Map<String, Double> eta2 = new LinkedHashMap<>();
        for (Parameter p : space.params()) {
            eta2.put(p.key(), used.size() < 2 ? 0.0 : correlationRatio(p, used));
        }
        double sum = eta2.values().stream().mapToDouble(Double::doubleValue).sum();
        List<Importance> out = new ArrayList<>();
        eta2.forEach((k, v) -> out.add(new Importance(k, v, sum > 0 ? v / sum : 0)));
        out.sort(Comparator.comparingDouble(Importance::varianceExplained).reversed().thenComparing(Importance::key));
        return new Result(List.copyOf(out), used.size());
    }

    private static double correlationRatio(Parameter p, List<TrialRecord> trials) {
        Map<Object, List<Double>> groups = p instanceof Parameter.Categorical ? byValue(p.key(), trials)
                : byBin(p, trials);
        double mean = trials.stream().mapToDouble(TrialRecord::value).average().orElse(0);
        double total = trials.stream().mapToDouble(t -> (t.value() - mean) * (t.value() - mean)).sum();
        if (total <= 0) {
            return 0;
        }
        double between = 0;
        for (List<Double> g : groups.values()) {
            double m = g.stream().mapToDouble(Double::doubleValue).average().orElse(0);
            between += g.size() * (m - mean) * (m - mean);
        }
        return Math.min(1, between / total);
    }

    private static Map<Object, List<Double>> byValue(String key, List<TrialRecord> trials) {
        Map<Object, List<Double>> groups = new LinkedHashMap<>();
        for (TrialRecord t : trials) {
            groups.computeIfAbsent(String.valueOf(t.params().get(key)), k -> new ArrayList<>()).add(t.value());
        }
        return groups;
    }

    /** Equal-count bins by rank of the parameter's value (log for log ranges; ranks make it the same). */
    private static Map<Object, List<Double>> byBin(Parameter p, List<TrialRecord> trials) {
        List<TrialRecord> sorted = new ArrayList<>(trials);
        sorted.sort(Comparator.comparingDouble(t -> numeric(t.params().get(p.key()))));
        int bins = Math.min(BINS, sorted.size());
        Map<Object, List<Double>> groups = new TreeMap<>();
        for (int i = 0; i < sorted.size(); i++) {
            groups.computeIfAbsent(i * bins / sorted.size(), k -> new ArrayList<>()).add(sorted.get(i).value());
        }
        return groups;
    }

    private static double numeric(Object v) {
        return v instanceof Number n ? n.doubleValue() : Double.NaN;
    }
}
