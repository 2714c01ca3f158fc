package io.troupe.ops.cli;

import io.troupe.tuner.analysis.ParameterImportance;
import io.troupe.tuner.report.StudyResults;
import io.troupe.tuner.space.SearchSpace;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code troupe study importance DIR}: how much of the val loss's spread each parameter explains. */
@Command(name = "importance",
        description = "Rank a study's parameters by the share of the val loss's variance each explains"
                + " (first-order functional ANOVA over the complete trials; also in report.html).",
        mixinStandardHelpOptions = true)
final class StudyImportanceCommand implements Callable<Integer> {

    @Spec
    private CommandSpec spec;

    @Mixin
    private StudyLocation location;

    @Mixin
    private JsonOption json;

    @Override
    public Integer call() {
        Path dir = location.dir();
        String storage = location.storage();
        StudyResults results = StudyOpen.results(dir, storage);
        String notApplicable = ParameterImportance.notApplicableTo(results.study().pruner());
        if (notApplicable != null) {
            throw UserError.inputData("importance is not computed for " + dir + ": " + notApplicable);
        }
        ParameterImportance.Result r = ParameterImportance.of(SearchSpace.parse(results.study().space()), results.trials());
        if (r.trials() < 2) {
            throw UserError.inputData("importance needs at least 2 complete trials; " + dir + " has " + r.trials());
        }
        PrintWriter out = spec.commandLine().getOut();
        if (json.enabled()) {
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("trials", r.trials());
            o.put("importance", r.importances().stream().map(i -> Map.of("parameter", i.key(),
                    "variance_explained", i.varianceExplained(), "share", i.share())).toList());
            Json.printLine(out, o);
            return TroupeCli.EXIT_OK;
        }
        out.printf(Locale.ROOT, "parameter importance over %d complete trials (share of val loss variance between"
                + " groups of the parameter's values):%n", r.trials());
        List<ParameterImportance.Importance> list = r.importances();
        int width = list.stream().mapToInt(i -> i.key().length()).max().orElse(9);
        for (ParameterImportance.Importance i : list) {
            out.printf(Locale.ROOT, "  %-" + width + "s  %.3f  %s%n", i.key(), i.varianceExplained(),
                    "#".repeat((int) Math.round(i.share() * 40)));
        }
        if (r.trials() < 10) {
            out.println("  (few trials: treat these as rough)");
        }
        out.flush();
        return TroupeCli.EXIT_OK;
    }
}
