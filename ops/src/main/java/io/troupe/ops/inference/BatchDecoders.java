package io.troupe.ops.inference;

/** Picks the {@link BatchDecoder} for an exported model: the one place a server or benchmark chooses it. */
public final class BatchDecoders {
    private BatchDecoders() {
    }

    /**
     * A decoder over {@code model} holding up to {@code capacity} sequences. Today every export
     * has only the full-window graph, so this is the {@link UncachedBatchDecoder}; a model
     * exported with KV-cache graphs gets the cached decoder here.
     */
    public static BatchDecoder forModel(ExportedModel model, int capacity) {
        return new UncachedBatchDecoder(model, capacity);
    }
}
