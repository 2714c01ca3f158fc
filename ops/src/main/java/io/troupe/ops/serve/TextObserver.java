package io.troupe.ops.serve;

/**
 * Where an endpoint hands each text it was sent to the served model's drift monitor (unless
 * monitoring is paused or the model has none): every endpoint that takes text counts.
 */
@FunctionalInterface
interface TextObserver {
    void observe(ServedModel model, String text);
}
