package io.troupe.ops.explain;

/**
 * What to explain about a text: the method, the target (null for the model's own choice: the
 * predicted label or the most likely next token), and the integrated-gradients steps.
 */
public record ExplainOptions(ExplainMethod method, String target, int steps) {
    /** Default integrated-gradients steps. */
    public static final int DEFAULT_STEPS = 32;
    /** Most steps one explanation may take, so one request cannot hold the model for long. */
    public static final int MAX_STEPS = 1024;
    /** The target of a language model's most likely next token. */
    public static final String NEXT_TOKEN = "next-token";

    public ExplainOptions {
        if (method == null) {
            throw new IllegalArgumentException("method is required");
        }
        if (steps < 1 || steps > MAX_STEPS) {
            throw ExplainException.invalid("steps", "--steps must be in [1, " + MAX_STEPS + "], got " + steps);
        }
    }
}
