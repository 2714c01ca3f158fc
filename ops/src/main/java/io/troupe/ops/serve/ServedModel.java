package io.troupe.ops.serve;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.troupe.data.DataException;
import io.troupe.ops.inference.BatchDecoder;
import io.troupe.ops.inference.BatchDecoders;
import io.troupe.ops.inference.BatchScheduler;
import io.troupe.ops.inference.ExportedModel;
import java.nio.file.Path;

/** The model a server answers with: the export, its decoder and scheduler, its chat template and its id. */
final class ServedModel implements AutoCloseable {
    final String id;
    final long created = System.currentTimeMillis() / 1000;
    final ExportedModel model;
    final BatchDecoder decoder;
    final BatchScheduler scheduler;
    final ChatTemplate template;

    private ServedModel(String id, ExportedModel model, BatchDecoder decoder, BatchScheduler scheduler, ChatTemplate template) {
        this.id = id;
        this.model = model;
        this.decoder = decoder;
        this.scheduler = scheduler;
        this.template = template;
    }

    /**
     * Opens the export in {@code dir} and starts its scheduler.
     *
     * @param maxBatch sequences decoded together (the decoder's capacity)
     * @param queueLimit requests that may wait for a slot before 429
     * @throws DataException when the directory is not a Troupe export or its chat template is malformed
     */
    static ServedModel open(Path dir, int threads, int maxBatch, int queueLimit, BatchScheduler.Observer observer,
            ObjectMapper json) throws DataException {
        ChatTemplate template = ChatTemplate.load(dir, json);
        ExportedModel model = ExportedModel.open(dir, threads);
        BatchDecoder decoder = BatchDecoders.forModel(model, maxBatch);
        BatchScheduler scheduler = new BatchScheduler(decoder, model.tokenizer(), queueLimit, observer);
        Path name = dir.toAbsolutePath().normalize().getFileName();
        return new ServedModel(name == null ? "troupe" : name.toString(), model, decoder, scheduler, template);
    }

    @Override
    public void close() throws Exception {
        try (ExportedModel m = model; BatchDecoder d = decoder) {
            scheduler.close();
        }
    }
}
