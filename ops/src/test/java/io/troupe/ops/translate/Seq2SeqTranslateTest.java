package io.troupe.ops.translate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.troupe.data.DataException;
import io.troupe.data.pairs.HashSplit;
import io.troupe.data.pairs.PairDataset;
import io.troupe.data.pairs.PairsPreparer;
import io.troupe.data.pairs.PairsRequest;
import io.troupe.model.seq2seq.Seq2SeqConfig;
import io.troupe.worker.seq2seq.Seq2SeqModelDir;
import io.troupe.model.seq2seq.Seq2SeqInit;
import io.troupe.worker.seq2seq.Seq2SeqRun;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * End to end on a toy word-for-word language pair: prepare, train a tiny seq2seq with the local
 * trainer (a one-worker job on the step path), save, load, and translate greedily; the model must learn (validation loss falls far
 * below the uniform ln V) and greedy decoding must reproduce most training pairs.
 */
class Seq2SeqTranslateTest {
    private static final String[] WORDS = {"the", "cat", "dog", "sees", "a", "house", "red", "big"};
    private static final String[] MOTS = {"le", "chat", "chien", "voit", "une", "maison", "rouge", "grand"};

    @TempDir
    Path dir;

    /** Prepares TAB-separated toy {@code lines} as a pairs dataset (80/10/10 by the English side, a 300-token BPE). */
    private PairDataset toyDataset(List<String> lines) throws Exception {
        Path file = dir.resolve("pairs.tsv");
        Files.write(file, lines);
        Path data = dir.resolve("data");
        PairsPreparer.run(new PairsRequest(List.of(file), data, false, 1, 2, "en", "fr",
                HashSplit.parse("hash-en:80/10/10"), 300, false, 0.01, 16, 0), "toy pairs");
        return PairDataset.open(data);
    }

    @Test
    void aTinyModelLearnsAWordMappingAndTranslatesIt() throws Exception {
        List<String> lines = new ArrayList<>();
        List<String[]> pairs = new ArrayList<>();
        Random r = new Random(3);
        for (int i = 0; i < 400; i++) {
            int len = 1 + r.nextInt(3);
            StringBuilder en = new StringBuilder();
            StringBuilder fr = new StringBuilder();
            for (int k = 0; k < len; k++) {
                int w = r.nextInt(WORDS.length);
                en.append(k == 0 ? "" : " ").append(WORDS[w]);
                fr.append(k == 0 ? "" : " ").append(MOTS[w]);
            }
            lines.add(en + "\t" + fr);
            pairs.add(new String[] {en.toString(), fr.toString()});
        }
        PairDataset dataset = toyDataset(lines);
        Seq2SeqConfig cfg = new Seq2SeqConfig(dataset.tokenizer().vocabSize(), 16, 16, 1, 1, 2, 32, 64, 0.0, 0.1);
        Seq2SeqRun.Result result = Seq2SeqRun.run(cfg, dataset, Seq2SeqRun.settings(800, 16, 3e-3, 50, 800, 4, 7),
                Seq2SeqInit.initial(cfg, 7), 1, false, line -> { }, (step, params) -> { });
        double uniform = Math.log(cfg.vocabSize());
        assertTrue(result.valLoss() < 0.25 * uniform, "val loss " + result.valLoss() + " vs uniform " + uniform);
        assertTrue(result.paddingFraction() >= 0 && result.paddingFraction() < 1);

        Path modelDir = dir.resolve("model");
        new Seq2SeqModelDir(cfg, result.params(), dataset.tokenizer(), dataset.bosId(), dataset.eosId(),
                dataset.padId(), "toy pairs").save(modelDir);
        Seq2SeqModelDir loaded = Seq2SeqModelDir.load(modelDir);
        assertEquals(cfg, loaded.config());
        assertEquals("toy pairs", loaded.attribution());
        int right = 0;
        int tried = 40;
        String firstMiss = "";
        try (GreedyTranslator translator = new GreedyTranslator(loaded, 1)) {
            for (int i = 0; i < tried; i++) {
                String hyp = translator.translate(pairs.get(i)[0]);
                if (hyp.equals(pairs.get(i)[1])) {
                    right++;
                } else if (firstMiss.isEmpty()) {
                    firstMiss = "'" + pairs.get(i)[0] + "' -> '" + hyp + "', want '" + pairs.get(i)[1] + "'";
                }
            }
        }
        assertTrue(right >= tried / 2, right + " of " + tried + " exact translations; first miss " + firstMiss);
    }

    @Test
    void stepTimesLogOneLinePerStepAndMarkTheStepsThatBuiltASession() throws Exception {
        List<String> lines = new ArrayList<>();
        Random r = new Random(5);
        for (int i = 0; i < 200; i++) {
            int w = r.nextInt(WORDS.length);
            // Lengths 1 to 12 words, so batches meet more than one padded shape.
            String en = (WORDS[w] + " ").repeat(1 + i % 12).strip();
            String fr = (MOTS[w] + " ").repeat(1 + i % 12).strip();
            lines.add(en + "\t" + fr);
        }
        PairDataset dataset = toyDataset(lines);
        Seq2SeqConfig cfg = new Seq2SeqConfig(dataset.tokenizer().vocabSize(), 32, 32, 1, 1, 2, 16, 32, 0.0, 0.1);
        List<String> log = new ArrayList<>();
        Seq2SeqRun.run(cfg, dataset, Seq2SeqRun.settings(12, 8, 1e-3, 2, 100, 1, 7), Seq2SeqInit.initial(cfg, 7), 1,
                true, log::add, (step, params) -> { });
        List<String> times = log.stream().filter(l -> l.startsWith("step-time ")).toList();
        assertEquals(12, times.size(), String.join("\n", log));
        java.util.Set<String> shapes = new java.util.HashSet<>();
        for (int i = 0; i < times.size(); i++) {
            java.util.regex.Matcher m = java.util.regex.Pattern
                    .compile("step-time (\\d+): (\\d+\\.\\d+) ms, batch (8x\\d+x\\d+)(, new session)?")
                    .matcher(times.get(i));
            assertTrue(m.matches(), times.get(i));
            assertEquals(i + 1, Integer.parseInt(m.group(1)));
            assertTrue(Double.parseDouble(m.group(2)) > 0, times.get(i));
            // A session is built exactly when a shape is met for the first time (fewer than 16 shapes).
            assertEquals(shapes.add(m.group(3)), m.group(4) != null, times.get(i));
        }
        assertTrue(shapes.size() > 1, "the toy data should give several shapes: " + shapes);
    }

    @Test
    void aDirectoryWithoutASeq2SeqModelIsRefusedByName() throws Exception {
        DataException e = assertThrows(DataException.class, () -> Seq2SeqModelDir.load(dir));
        assertTrue(e.getMessage().contains("is not a seq2seq model"), e.getMessage());
    }
}
