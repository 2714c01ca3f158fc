package io.troupe.ops.cli;

import io.troupe.data.io.AtomicFiles;
import io.troupe.tuner.analysis.BestConfig;
import io.troupe.tuner.analysis.ParetoFront;
import io.troupe.tuner.report.StudyResults;
import io.troupe.tuner.space.SearchSpace;
import io.troupe.tuner.store.TrialRecord;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code troupe study best DIR [--export FILE.conf]}: the winning trial, and its settings as a train config. */
@Command(name = "best",
        description = "Print a study's best trial; with --export, write its settings as a config that"
                + " 'troupe train --config FILE' trains again.",
        mixinStandardHelpOptions = true)
final class StudyBestCommand implements Callable<Integer> {

    @Spec
    private CommandSpec spec;

    @Mixin
    private StudyLocation location;

    @Option(names = "--export", paramLabel = "FILE", description = "Write the best trial's settings to FILE (HOCON).")
    private Path export;

    @Option(names = "--force", description = "Replace --export FILE if it exists.")
    private boolean force;

    @Option(names = "--pick", paramLabel = "RULE",
            description = {"Which trial of a multi-objective study's Pareto front: 'first' (best on the first",
                "objective, the default), 'knee' (closest to the ideal point, objectives scaled to [0, 1]), or",
                "OBJECTIVE:min|max (e.g. tokens_per_second:max). Single-objective studies ignore it unless given."})
    private String pick;

    @Override
    public Integer call() {
        Path dir = location.dir();
        String storage = location.storage();
        if (export != null && Files.exists(export) && !force) {
            throw UserError.inputData("--export " + export + " already exists; pass --force to replace it, or choose"
                    + " another file");
        }
        if (export != null && Files.isDirectory(export)) {
            throw UserError.inputData("--export " + export + " is a directory; name a file such as best.conf");
        }
        StudyResults results = StudyOpen.results(dir, storage);
        TrialRecord best = ParetoFront.pick(results, pick);
        PrintWriter out = spec.commandLine().getOut();
        out.printf(Locale.ROOT, "best: trial %d, val loss %.4f%n", best.number(), best.value());
        for (Map.Entry<String, Object> e : best.params().entrySet()) {
            out.println("  " + e.getKey() + " = " + e.getValue());
        }
        for (Map.Entry<String, Double> e : best.metrics().entrySet()) {
            out.printf(Locale.ROOT, "  (%s %.4g)%n", e.getKey(), e.getValue());
        }
        if (export != null) {
            String text = BestConfig.render(results.study(), SearchSpace.parse(results.study().space()), best,
                    results.study().name(), results.lineage());
            try {
                Path parent = export.toAbsolutePath().getParent();
                if (parent != null) {
                    Files.createDirectories(parent);
                }
                AtomicFiles.writeString(export, text);
            } catch (IOException e) {
                throw UserError.io("cannot write --export " + export + ": " + e.getMessage(), e);
            }
            out.println("wrote " + export + "; train it with: troupe train --config " + export + " --data DATA --out DIR");
        }
        out.flush();
        return TroupeCli.EXIT_OK;
    }
}
