package io.troupe.ops.cli;

import io.troupe.model.gpt.Precision;
import io.troupe.worker.train.TrainSettings;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * What to train and how: the options {@code troupe train} (local or {@code --workers N}) and
 * {@code troupe coordinator} share, so a run is described the same way wherever it runs.
 */
final class TrainingOptions {

    @Spec(Spec.Target.MIXEE)
    private CommandSpec command;

    @Mixin
    private DataOption data;

    @Option(names = "--preset", paramLabel = "NAME", defaultValue = "shakespeare-char-small",
            description = "Settings preset: shakespeare-char-small or shakespeare-char (default: ${DEFAULT-VALUE}).")
    private String preset;

    @Mixin
    private StepsOption steps;

    @Mixin
    private SyncOptions sync;

    @Option(names = "--config", paramLabel = "FILE",
            description = {"Settings from a HOCON file of key = value lines (e.g. from 'troupe study best --export'),",
                "applied over the preset; key=value arguments override it."})
    private Path config;

    @Option(names = "--seed", paramLabel = "S",
            description = "Seed for initialisation, sampling and dropout (default: seed of the preset).")
    private Long seed;

    @Option(names = "--precision", paramLabel = "P",
            description = {"What the step computes in: fp32 (default), fp16 (float16 forward and backward passes,",
                "float32 master weights and AdamW state, dynamic loss scaling; meant for GPUs, ~3x slower on the CPU)",
                "or bf16-storage (float32 compute; activations kept for the backward pass and the parameters in",
                "bfloat16, stochastic rounding after each AdamW step; bf16 gradient wire by default).",
                "The training setting 'precision'."})
    private String precision;

    @Parameters(paramLabel = "key=value", arity = "0..*",
            description = "Setting overrides, e.g. learning_rate=3e-4 n_layer=6; every key and its default is in"
                    + " worker/src/main/resources/reference.conf.")
    private List<String> overrides = new ArrayList<>();

    /**
     * The key=value settings as given (after --config's), with no preset under them: for a
     * trainer that is not the GPT's and takes only a few of them ({@code finetune} of a seq2seq
     * model).
     */
    Map<String, String> givenSettings() {
        Map<String, String> merged = new LinkedHashMap<>();
        if (config != null) {
            merged.putAll(ConfigFile.read(config));
        }
        merged.putAll(KeyValues.parse(overrides));
        return merged;
    }

    /** {@code --seed}, or null. */
    Long seed() {
        return seed;
    }

    /** {@code --precision} as given, or null. */
    String precision() {
        return precision;
    }

    /** The {@code --data} path, or null. */
    Path data() {
        return data.data();
    }

    /** {@code --data}, or a usage error. */
    Path requireData() {
        return data.require();
    }

    /** The {@code --steps} value, or null. */
    Long steps() {
        return steps.steps();
    }

    /** True if any option that defines a new run was given: --data, --preset, --seed or a setting. */
    boolean definesARun() {
        return data.data() != null || seed != null || !overrides.isEmpty() || config != null || precision != null
                || !sync.overrides().isEmpty()
                || command.commandLine().getParseResult().hasMatchedOption("--preset");
    }

    /**
     * The settings: the preset, the overrides, then --steps and --seed. A setting they refuse is
     * a command-line mistake (exit 2), as they all come from the command line.
     */
    TrainSettings settings() {
        return settings(Map.of());
    }

    /**
     * The settings with {@code defaults} between the preset and the overrides: they replace the
     * preset's values, and a key=value on the command line replaces them.
     */
    TrainSettings settings(Map<String, String> defaults) {
        // --steps also sets the schedule's length (TrainSettings.load(preset, overrides, steps)).
        Map<String, String> merged = new LinkedHashMap<>(defaults);
        if (config != null) {
            merged.putAll(ConfigFile.read(config));
        }
        merged.putAll(KeyValues.parse(overrides));
        merged.putAll(sync.overrides());
        if (precision != null) {
            try {
                Precision.parse(precision);
            } catch (IllegalArgumentException e) {
                throw new ParameterException(command.commandLine(), "--precision must be one of " + Precision.labels()
                        + ", got '" + precision + "'");
            }
            merged.put(TrainSettings.PRECISION, precision);
        }
        TrainSettings settings;
        if (steps.steps() != null) {
            settings = UserError.onCommandLine(() -> TrainSettings.load(preset, merged, steps.steps()));
        } else {
            settings = UserError.onCommandLine(() -> TrainSettings.load(preset, merged));
            StepsOption.check(command, "max_iters", settings.maxIters());
        }
        if (seed != null) {
            settings = settings.withSeed(seed);
        }
        sync.check(settings);
        return settings;
    }
}
