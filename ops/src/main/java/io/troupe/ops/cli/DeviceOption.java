package io.troupe.ops.cli;

import io.troupe.worker.engine.Device;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** The {@code --device DEV} option of the commands that run training steps. */
final class DeviceOption {

    @Spec(Spec.Target.MIXEE)
    private CommandSpec command;

    @Option(names = "--device", paramLabel = "DEV", defaultValue = "cpu",
            description = "Where each worker runs its steps: cpu or cuda:N (default: ${DEFAULT-VALUE}).")
    private String device;

    /** The parsed device, or a usage error naming the accepted forms. */
    Device device() {
        try {
            return Device.parse(device);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(command.commandLine(), e.getMessage());
        }
    }

    /** True if {@code --device} was given. */
    boolean given() {
        return command.commandLine().getParseResult().hasMatchedOption("--device");
    }
}
