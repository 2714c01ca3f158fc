package io.troupe.ops.cli;

import io.troupe.worker.gradcheck.CaseResult;
import io.troupe.worker.gradcheck.GradientCheckReport;
import io.troupe.worker.gradcheck.GradientCheckSuite;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code troupe gradcheck}: checks every backward rule and a tiny GPT against finite differences. */
@Command(name = "gradcheck",
        description = {"Check every backward rule and a tiny GPT against central finite differences.",
            "Runs in ONNX Runtime; the GPT has V=11 T=8 B=2 C=16 NH=2 L=2. Exits 0 only when all are within"
                + " tolerance."},
        mixinStandardHelpOptions = true)
final class GradcheckCommand implements Callable<Integer> {

    @Spec
    private CommandSpec spec;

    @Option(names = "--json", description = "Print one JSON object: {\"ops\": {op: max_rel_err}, \"gpt\": max_rel_err, \"checked_params\": N}.")
    private boolean json;

    @Option(names = "--verbose", description = "Print each case as it finishes (to stderr with --json).")
    private boolean verbose;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter progress = json ? spec.commandLine().getErr() : out;
        GradientCheckReport report = GradientCheckSuite.run((CaseResult r) -> {
            if (verbose) {
                progress.println(r.describe());
                progress.flush();
            }
        });
        if (json) {
            out.println(report.toJson());
        } else {
            out.println(report.summary());
        }
        out.flush();
        if (!report.passed()) {
            spec.commandLine().getErr().println("troupe: gradient check failed: " + report.failures());
            spec.commandLine().getErr().flush();
            return TroupeCli.EXIT_FAILURE;
        }
        return TroupeCli.EXIT_OK;
    }
}
