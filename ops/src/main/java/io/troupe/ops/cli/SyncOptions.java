package io.troupe.ops.cli;

import io.troupe.worker.train.SyncSettings;
import io.troupe.worker.train.TrainSettings;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code --sync sync|diloco} and DiLoCo's {@code --inner-steps}, {@code --outer-lr} and
 * {@code --outer-momentum}: shared by {@code troupe train} and {@code troupe coordinator}. They are
 * the training settings {@code sync}, {@code inner_steps}, {@code outer_lr} and
 * {@code outer_momentum}, so they travel to workers with the job's settings and a checkpoint of a
 * DiLoCo run is refused by a run of another outer optimizer.
 */
final class SyncOptions {

    @Spec(Spec.Target.MIXEE)
    private CommandSpec command;

    @Option(names = "--sync", paramLabel = "MODE",
            description = "How workers combine their work: sync (all-reduce the gradient every step, the default) or"
                    + " diloco (--inner-steps local AdamW steps per worker, then an outer Nesterov step on the averaged"
                    + " change of the parameters).")
    private String sync;

    @Option(names = "--inner-steps", paramLabel = "H",
            description = "DiLoCo: local steps between outer steps, >= 1 (default: 100). --steps, eval_interval and"
                    + " checkpoint_interval must be multiples of it.")
    private Integer innerSteps;

    @Option(names = "--outer-lr", paramLabel = "LR", description = "DiLoCo: the outer learning rate (default: 0.7).")
    private Double outerLr;

    @Option(names = "--outer-momentum", paramLabel = "MU",
            description = "DiLoCo: the outer Nesterov momentum, in [0, 1) (default: 0.9).")
    private Double outerMomentum;

    /** The settings these flags set (none when none was given), checked as command-line mistakes. */
    Map<String, String> overrides() {
        Map<String, String> out = new LinkedHashMap<>();
        boolean diloco = "diloco".equals(sync);
        if (sync != null && !diloco && !"sync".equals(sync)) {
            throw usage("--sync must be sync or diloco, got '" + sync + "'");
        }
        if (!diloco && (innerSteps != null || outerLr != null || outerMomentum != null)) {
            throw usage("--inner-steps, --outer-lr and --outer-momentum set DiLoCo's outer optimizer; add --sync"
                    + " diloco or drop them");
        }
        if (sync != null) {
            out.put("sync", sync);
        }
        if (innerSteps != null) {
            if (innerSteps < 1) {
                throw usage("--inner-steps must be >= 1 (local steps between outer steps), got " + innerSteps);
            }
            out.put("inner_steps", String.valueOf(innerSteps));
        }
        if (outerLr != null) {
            if (!(outerLr > 0) || outerLr > 100) {
                throw usage("--outer-lr must be in (0, 100], got " + outerLr);
            }
            out.put("outer_lr", String.valueOf(outerLr));
        }
        if (outerMomentum != null) {
            if (!(outerMomentum >= 0 && outerMomentum < 1)) {
                throw usage("--outer-momentum must be in [0, 1), got " + outerMomentum);
            }
            out.put("outer_momentum", String.valueOf(outerMomentum));
        }
        return out;
    }

    /** Refuses a DiLoCo run whose steps, evaluations or checkpoints fall between outer steps. */
    void check(TrainSettings settings) {
        String problem = SyncSettings.problem(settings);
        if (problem != null) {
            throw usage(problem);
        }
    }

    private ParameterException usage(String message) {
        return new ParameterException(command.commandLine(), message);
    }
}
