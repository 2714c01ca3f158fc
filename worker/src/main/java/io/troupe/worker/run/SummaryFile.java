package io.troupe.worker.run;

import io.troupe.worker.train.TrainSettings;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.troupe.data.corpus.DataIdentity;
import io.troupe.data.io.AtomicFiles;
import io.troupe.worker.card.ModelCard;
import java.io.IOException;
import java.nio.file.Path;

/** Writes a run's {@code summary.json}, atomically. */
public final class SummaryFile {
    /** The file name in the run directory. */
    public static final String NAME = "summary.json";
    private static final ObjectMapper JSON = new ObjectMapper();

    private SummaryFile() {
    }

    /**
     * @param workers the number of workers of a distributed run, or 0 for local training (omitted)
     * @param data the data trained on, written as {@code "data": {"path", "kind", "sha256"}}; null omits it
     */
    public static void write(Path outDir, TrainSummary s, TrainSettings settings, int vocabSize, String tokenizerType,
                             int workers, DataIdentity data) throws IOException {
        write(outDir, s, settings, vocabSize, tokenizerType, workers, java.util.Map.of(), data);
    }

    /**
     * @param extra more top-level values (e.g. a distributed run's time split and fault counters: numbers
     *     or lists of numbers), written after "workers"
     * @param data the data trained on, written as {@code "data": {"path", "kind", "sha256"}}; null omits it
     */
    public static void write(Path outDir, TrainSummary s, TrainSettings settings, int vocabSize, String tokenizerType,
                             int workers, java.util.Map<String, ?> extra, DataIdentity data) throws IOException {
        ObjectNode o = JSON.createObjectNode();
        o.put("steps", s.steps())
                .put("final_train_loss", s.finalTrainLoss())
                .put("final_val_loss", s.finalValLoss())
                .put("best_val_loss", s.bestValLoss())
                .put("tokens_per_second", s.tokensPerSecond())
                .put("wall_seconds", s.wallSeconds())
                .put("params", s.parameters());
        if (workers > 0) {
            o.put("workers", workers);
        }
        if (data != null) {
            o.putObject("data").put("path", data.path()).put("kind", data.kind().label()).put("sha256", data.sha256());
        }
        extra.forEach((key, value) -> o.set(key, JSON.valueToTree(value)));
        ObjectNode config = settings.toJson(JSON);
        config.put("vocab_size", vocabSize);
        config.put("tokenizer", tokenizerType);
        o.set("config", config);
        AtomicFiles.writeString(outDir.resolve(NAME), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(o) + "\n");
        // Every run directory describes itself; the card is built from the summary just written.
        ModelCard.write(outDir);
    }
}
