package io.troupe.worker.job;

import io.troupe.data.corpus.TextCorpus;
import io.troupe.data.corpus.TokenSplit;
import io.troupe.data.tokenize.CharTokenizer;
import io.troupe.data.tokenize.Tokenizer;
import io.troupe.worker.checkpoint.Checkpoint;
import io.troupe.worker.engine.EngineOptions;
import io.troupe.worker.train.TrainSettings;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * The tiny local job the precision tests step through the real graph: 1 layer, 2 heads, C 16,
 * block 16, 4 rows a step, one worker, on a few repeated lines of text.
 */
final class PrecisionJobs {
    private static final String TEXT = "to be or not to be, that is the question: whether 'tis nobler in the mind\n"
            .repeat(40);

    private PrecisionJobs() {
    }

    /** A job in {@code precision} with these extra settings, resumed from {@code resumeFrom} unless null. */
    static WorkerJob job(String precision, Map<String, String> extra, Checkpoint resumeFrom) throws Exception {
        Map<String, String> o = new HashMap<>(Map.of("n_layer", "1", "n_head", "2", "n_embd", "16", "block_size", "16",
                "batch_size", "4", "warmup_iters", "0", "seed", "3"));
        o.put("precision", precision);
        o.putAll(extra);
        TrainSettings settings = TrainSettings.load(null, o);
        Tokenizer tokenizer = CharTokenizer.fromText(TEXT);
        TokenSplit split = TokenSplit.encode(new TextCorpus(Path.of("mem.txt"), TEXT), tokenizer, settings.blockSize());
        return new WorkerJob(settings, tokenizer, split, BatchPlan.of(4, 1, 1, 0), EngineOptions.cpu(1),
                GradientReducer.LOCAL, resumeFrom);
    }

    /** Step {@code step}'s share of the 4-row global batch: all of it, this job being the only worker. */
    static ElasticShare share(long step) {
        return ElasticShare.of(4, 1, 1, 0, (step - 1) * 4);
    }
}
