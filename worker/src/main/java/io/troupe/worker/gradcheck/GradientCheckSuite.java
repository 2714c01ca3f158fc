package io.troupe.worker.gradcheck;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * The full gradient check behind {@code ./troupe gradcheck}: every {@link OpCases op case} and
 * the {@link EncoderCase#tiny() tiny encoders} and the {@link GptCase#tiny() tiny GPT}. A run takes a few
 * seconds on one CPU core.
 *
 * <pre>{@code
 * GradientCheckReport report = GradientCheckSuite.run();
 * System.out.println(report.toJson());
 * System.exit(report.passed() ? 0 : 1);
 * }</pre>
 */
public final class GradientCheckSuite {
    private GradientCheckSuite() {
    }

    /** Runs every op case and the tiny GPT with the default checker. */
    public static GradientCheckReport run() {
        return run(result -> { });
    }

    /** Runs every op case and the tiny GPT, reporting each result as it completes (for progress output). */
    public static GradientCheckReport run(Consumer<CaseResult> progress) {
        List<GradientCase> cases = new ArrayList<>(OpCases.all());
        cases.addAll(EncoderCase.tiny());
        cases.add(Seq2SeqCase.tiny());
        // The GPT with activation checkpointing: its recomputed attention has a hand-written backward.
        cases.add(GptCase.tinyRecomputingAttention());
        return run(new GradientChecker(), cases, GptCase.tiny(), progress);
    }

    /**
     * Runs the given cases.
     *
     * @param gpt the whole-model case, or null to skip it
     * @param progress called with each result as it completes
     */
    public static GradientCheckReport run(GradientChecker checker, List<? extends GradientCase> ops, GradientCase gpt,
                                          Consumer<CaseResult> progress) {
        List<CaseResult> results = new ArrayList<>(ops.size());
        for (GradientCase c : ops) {
            CaseResult r = checker.check(c);
            progress.accept(r);
            results.add(r);
        }
        CaseResult gptResult = null;
        if (gpt != null) {
            gptResult = checker.check(gpt);
            progress.accept(gptResult);
        }
        return new GradientCheckReport(results, gptResult);
    }

    /** How many cases {@link #run()} checks (for a progress bar's total). */
    public static int caseCount() {
        return OpCases.all().size() + EncoderCase.tiny().size() + 3;
    }
}
