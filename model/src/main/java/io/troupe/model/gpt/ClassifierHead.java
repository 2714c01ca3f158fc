package io.troupe.model.gpt;

/**
 * A classification head on a GPT: a linear layer {@code cls.weight [C, K]}, {@code cls.bias [K]}
 * over the {@link Pooling pooled} final hidden state.
 *
 * @param classes K, at least 2
 * @param pooling how the sequence is pooled
 */
public record ClassifierHead(int classes, Pooling pooling) {
    public ClassifierHead {
        if (classes < 2) {
            throw new IllegalArgumentException("a classifier needs at least 2 classes, got " + classes);
        }
        if (pooling == null) {
            throw new IllegalArgumentException("pooling is required");
        }
    }
}
