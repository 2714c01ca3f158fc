package io.troupe.worker.engine;

/**
 * Where a {@link StepEngine} runs its graph: the CPU, or one CUDA GPU by ordinal.
 *
 * <p>Parsed from the strings users type on the command line: {@code cpu} or {@code cuda:N}.
 */
public sealed interface Device permits Device.Cpu, Device.Cuda {

    /** The CPU execution provider (always available). */
    record Cpu() implements Device {
        @Override
        public String toString() {
            return "cpu";
        }
    }

    /**
     * One CUDA GPU.
     *
     * @param ordinal the CUDA device index, as {@code nvidia-smi} numbers it (0-based)
     */
    record Cuda(int ordinal) implements Device {
        /** @throws IllegalArgumentException if {@code ordinal} is negative */
        public Cuda {
            if (ordinal < 0) {
                throw new IllegalArgumentException("CUDA device ordinal must be >= 0, got " + ordinal);
            }
        }

        @Override
        public String toString() {
            return "cuda:" + ordinal;
        }
    }

    /** The CPU device. */
    static Device cpu() {
        return new Cpu();
    }

    /** The CUDA device with the given ordinal. */
    static Device cuda(int ordinal) {
        return new Cuda(ordinal);
    }

    /**
     * Parses {@code cpu} or {@code cuda:N} (N a non-negative decimal integer); the inverse of
     * each device's {@code toString()}.
     *
     * @throws IllegalArgumentException naming the accepted forms, for anything else
     */
    static Device parse(String text) {
        if (text == null) {
            throw new IllegalArgumentException("device must be 'cpu' or 'cuda:N', got null");
        }
        if (text.equals("cpu")) {
            return cpu();
        }
        String ordinal = text.startsWith("cuda:") ? text.substring("cuda:".length()) : "";
        // Digits only: Integer.parseInt would also accept "+1" and "-0", which are not ordinals.
        if (!ordinal.isEmpty() && ordinal.chars().allMatch(c -> c >= '0' && c <= '9')) {
            try {
                return cuda(Integer.parseInt(ordinal));
            } catch (NumberFormatException overflow) {
                // Falls through to the message below, which names the accepted forms.
            }
        }
        throw new IllegalArgumentException(
                "device must be 'cpu' or 'cuda:N' with N a GPU ordinal such as 0, got '" + text + "'");
    }
}
