package io.troupe.worker.run;

import io.troupe.worker.train.TrainSettings;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.troupe.data.corpus.TextCorpus;
import io.troupe.data.corpus.TokenSplit;
import io.troupe.data.tokenize.CharTokenizer;
import io.troupe.data.tokenize.Tokenizer;
import io.troupe.worker.engine.EngineOptions;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * A tiny training run for tests: a 1-layer, 16-wide GPT on a synthetic corpus, one ORT thread
 * (so every run of the same settings is bitwise the same), evaluation every 4 steps, a metrics
 * line every step. Training 8 steps takes well under a second once the graphs are built.
 */
final class TinyRun {

    static final ObjectMapper JSON = new ObjectMapper();

    /** A few thousand characters of pseudo-English with a small alphabet; the same every call. */
    static final String TEXT = corpus();

    private TinyRun() {
    }

    private static String corpus() {
        String[] words = {"the", "king", "queen", "shall", "not", "go", "to", "war", "with", "thee", "my", "lord",
            "and", "her", "love", "what", "say", "you"};
        Random random = new Random(42);
        StringBuilder text = new StringBuilder();
        while (text.length() < 4000) {
            text.append(words[random.nextInt(words.length)]).append(random.nextInt(8) == 0 ? ".\n" : " ");
        }
        return text.toString();
    }

    /** The tiny settings, with {@code changes} (key=value, HOCON values) applied on top. */
    static Map<String, String> settings(String... changes) {
        Map<String, String> s = new LinkedHashMap<>();
        s.put("n_layer", "1");
        s.put("n_head", "2");
        s.put("n_embd", "16");
        s.put("block_size", "16");
        s.put("batch_size", "4");
        s.put("grad_accum", "1");
        s.put("max_iters", "8");
        s.put("learning_rate", "1e-2");
        s.put("min_lr", "1e-3");
        s.put("warmup_iters", "2");
        s.put("lr_decay_iters", "8");
        s.put("eval_interval", "4");
        s.put("eval_iters", "2");
        s.put("log_interval", "1");
        s.put("checkpoint_interval", "0");
        s.put("keep_checkpoints", "3");
        s.put("seed", "7");
        for (String change : changes) {
            int eq = change.indexOf('=');
            s.put(change.substring(0, eq), change.substring(eq + 1));
        }
        return s;
    }

    static Trainer trainer(Path dir, Map<String, String> overrides) throws Exception {
        return trainer(dir, TEXT, overrides);
    }

    static Trainer trainer(Path dir, String text, Map<String, String> overrides) throws Exception {
        TrainSettings settings = TrainSettings.load(null, overrides);
        Tokenizer tokenizer = CharTokenizer.fromText(text);
        TokenSplit split = TokenSplit.encode(new TextCorpus(dir.resolve("corpus.txt"), text), tokenizer,
                settings.blockSize());
        return new Trainer(settings, tokenizer, split, dir, EngineOptions.cpu(1));
    }

    static TrainSummary train(Path dir, boolean resume, Map<String, String> overrides) throws Exception {
        return trainer(dir, overrides).run(resume, TrainListener.SILENT);
    }

    /** The lines of dir/metrics.jsonl, parsed. */
    static List<JsonNode> metrics(Path dir) throws IOException {
        List<JsonNode> lines = new ArrayList<>();
        for (String line : Files.readAllLines(dir.resolve(Trainer.METRICS))) {
            lines.add(JSON.readTree(line));
        }
        return lines;
    }

    static JsonNode summary(Path dir) throws IOException {
        return JSON.readTree(dir.resolve(Trainer.SUMMARY).toFile());
    }

    /** Every regular file under {@code dir} with its bytes, by relative path. */
    static Map<String, byte[]> snapshot(Path dir) throws IOException {
        Map<String, byte[]> files = new TreeMap<>();
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.filter(Files::isRegularFile).toList()) {
                files.put(dir.relativize(p).toString(), Files.readAllBytes(p));
            }
        }
        return files;
    }
}
