package io.troupe.ops.serve;

/**
 * What one request may ask of the server, so a single client cannot exhaust it.
 *
 * @param maxBodyBytes largest request body (413 beyond)
 * @param maxPromptTokens longest prompt after tokenizing
 * @param maxTokens largest max_tokens of one choice
 * @param maxN largest n
 * @param maxRequestTokens largest n × max_tokens, the tokens one request may make the batch generate
 * @param queueLimit requests that may wait for a batch slot before the server answers 429
 */
public record ServeLimits(long maxBodyBytes, int maxPromptTokens, int maxTokens, int maxN, int maxRequestTokens,
        int queueLimit) {

    /** Limits for a server on one machine: 1 MiB bodies, 4096-token prompts, 1024 tokens × 8 choices, at most 4096 per request, 64 waiting. */
    public static ServeLimits defaults() {
        return new ServeLimits(1 << 20, 4096, 1024, 8, 4096, 64);
    }

    public ServeLimits withQueueLimit(int limit) {
        return new ServeLimits(maxBodyBytes, maxPromptTokens, maxTokens, maxN, maxRequestTokens, limit);
    }
}
