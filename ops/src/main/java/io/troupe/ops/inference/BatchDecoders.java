package io.troupe.ops.inference;

import io.troupe.data.DataException;
import io.troupe.worker.run.ModelExport;
import java.nio.file.Path;
import java.util.function.Consumer;

/** Picks the {@link BatchDecoder} for an exported model: the one place a server or benchmark chooses it. */
public final class BatchDecoders {
    private BatchDecoders() {
    }

    /**
     * A decoder over the export in {@code dir} holding up to {@code capacity} sequences: the
     * {@link KvCacheDecoder} when the directory has {@code decoder.onnx} (fewer sequences when
     * {@code kvBudgetBytes} holds fewer caches; one line to {@code warn} when it lacks
     * {@code decoder_step.onnx}, saying how to re-export), else the {@link UncachedBatchDecoder}
     * over {@code model}, after one line to {@code warn} saying how to re-export.
     *
     * @throws DataException when decoder.onnx is there but not a loadable Troupe decoder
     * @throws IllegalArgumentException when the budget holds no sequence's cache
     */
    public static BatchDecoder forModel(Path dir, ExportedModel model, int capacity, long kvBudgetBytes, int threads,
            Consumer<String> warn) throws DataException {
        if (KvCacheDecoder.available(dir)) {
            if (!KvCacheDecoder.hasStepGraph(dir)) {
                warn.accept(dir.resolve(ModelExport.DECODER_STEP_FILE_NAME) + " does not exist (exported before the "
                        + "batched step graph), so every decode step copies each sequence's whole cache; re-export with "
                        + "'troupe export --run RUN --out " + dir + " --force' to serve faster");
            }
            return KvCacheDecoder.open(dir, threads, kvBudgetBytes, capacity);
        }
        warn.accept(dir.resolve(ModelExport.DECODER_FILE_NAME) + " does not exist (exported before KV-cache inference), "
                + "so every token re-runs the whole context; re-export with 'troupe export --run RUN --out " + dir
                + " --force' to serve faster");
        return new UncachedBatchDecoder(model, capacity);
    }
}
