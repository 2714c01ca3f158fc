package io.troupe.ops.inference;

import java.util.List;

/**
 * What one client asked a {@link BatchScheduler} for: {@code n} independent continuations of
 * one prompt, each at most {@code maxTokens} long.
 *
 * @param prompt the encoded prompt, at least one token
 * @param maxTokens most tokens per continuation, >= 1
 * @param n continuations (choices), >= 1; each holds its own decoder slot
 * @param temperature >= 0; 0 is greedy
 * @param topP nucleus mass in (0, 1]
 * @param seed sampling seed (choice i uses seed + i), or null for a random one
 * @param stop strings that end a continuation; never part of its text
 */
public record GenerationRequest(int[] prompt, int maxTokens, int n, double temperature, double topP, Long seed,
        List<String> stop) {

    public GenerationRequest {
        if (prompt.length == 0) {
            throw new IllegalArgumentException("the prompt is empty");
        }
        if (maxTokens < 1) {
            throw new IllegalArgumentException("max_tokens must be >= 1, got " + maxTokens);
        }
        if (n < 1) {
            throw new IllegalArgumentException("n must be >= 1, got " + n);
        }
        stop = List.copyOf(stop);
    }
}
