package io.troupe.ops.inference;

/** Why a continuation ended; {@link #apiName()} is the OpenAI {@code finish_reason}. */
public enum FinishReason {
    /** A stop string or the end-of-text token. */
    STOP("stop"),
    /** max_tokens reached. */
    LENGTH("length"),
    /** The client went away or the server is shutting down. */
    CANCELLED("cancelled"),
    /** The decoder failed; see the result's error. */
    ERROR("error");

    private final String apiName;

    FinishReason(String apiName) {
        this.apiName = apiName;
    }

    public String apiName() {
        return apiName;
    }
}
