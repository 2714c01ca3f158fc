package io.troupe.ops.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.troupe.data.DataException;
import io.troupe.data.tokenize.CharTokenizer;
import io.troupe.model.gpt.GptConfig;
import io.troupe.model.gpt.GptGraphs;
import io.troupe.model.gpt.ParameterInit;
import io.troupe.model.gpt.ParameterLayout;
import io.troupe.model.graph.Graph;
import io.troupe.ops.inference.ExportedModel;
import io.troupe.worker.run.ModelExport;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Scoring sentences with a randomly initialised GPT: windows, padding and batching change no score. */
class SentenceScorerTest {
    private static final CharTokenizer TOKENIZER = CharTokenizer.fromText("abcdefghijklmnopqrstuvwxyz .\n");
    private static final int BLOCK = 8;

    @TempDir
    Path tmp;

    private Path model(String task) throws Exception {
        GptConfig cfg = new GptConfig(TOKENIZER.vocabSize(), BLOCK, 1, 2, 16, 0, true, true);
        float[] params = ParameterInit.gpt2(cfg, ParameterLayout.of(cfg), 3);
        // Larger than init so that the model has clear preferences and windowing errors would show.
        for (int i = 0; i < params.length; i++) {
            params[i] *= 20;
        }
        Path dir = Files.createDirectories(tmp.resolve(task == null ? "lm" : task));
        if (task == null) {
            ModelExport.write(dir, cfg, params);
        } else {
            Graph graph = GptGraphs.inference(cfg, FloatBuffer.wrap(params));
            graph.metadata(ModelExport.BLOCK_SIZE, Integer.toString(BLOCK));
            graph.metadata(ModelExport.VOCAB_SIZE, Integer.toString(cfg.vocabSize()));
            graph.metadata("troupe.task", task);
            Files.write(dir.resolve(ModelExport.FILE_NAME), graph.toBytes());
        }
        TOKENIZER.save(dir);
        return dir;
    }

    /** The reference: one ORT run per target token, with the full context the window allows. */
    private static double direct(ExportedModel m, int start, String sentence) throws Exception {
        int[] ids = m.tokenizer().encode(sentence);
        long[] x = new long[ids.length + 1];
        x[0] = start;
        for (int i = 0; i < ids.length; i++) {
            x[i + 1] = ids[i];
        }
        double sum = 0;
        for (int k = 1; k < x.length; k++) {
            int a = Math.max(0, k - BLOCK);
            int len = k - a;
            long[] in = java.util.Arrays.copyOfRange(x, a, k);
            float[] logits = m.logits(in, 1, len);
            int v = m.vocabSize();
            int off = (len - 1) * v;
            double max = Double.NEGATIVE_INFINITY;
            for (int i = 0; i < v; i++) {
                max = Math.max(max, logits[off + i]);
            }
            double z = 0;
            for (int i = 0; i < v; i++) {
                z += Math.exp(logits[off + i] - max);
            }
            sum += logits[off + (int) x[k]] - max - Math.log(z);
        }
        return sum;
    }

    @Test
    void shortSentencesMatchOneRunPerTokenWhateverTheBatch() throws Exception {
        try (ExportedModel m = ExportedModel.open(model(null), 1)) {
            SentenceScorer one = new SentenceScorer(m, 1);
            SentenceScorer many = new SentenceScorer(m, 32);
            assertEquals(TOKENIZER.encode("\n")[0], one.startToken());
            List<String> sentences = List.of("abc", "he is.", "a b c d", "x");
            double[] alone = one.score(sentences);
            double[] batched = many.score(sentences);
            for (int i = 0; i < sentences.size(); i++) {
                double expected = direct(m, one.startToken(), sentences.get(i));
                assertEquals(expected, alone[i], 1e-3, sentences.get(i));
                // Right-padding to the batch's longest window leaves a causal model's scores alone.
                assertEquals(expected, batched[i], 1e-3, sentences.get(i));
                assertTrue(alone[i] < 0);
            }
        }
    }

    @Test
    void longSentencesAreScoredInOverlappingWindowsWithHalfABlockOfContext() throws Exception {
        String longer = "the quick brown fox jumps over the lazy dog.";
        List<SentenceScorer.Window> windows = SentenceScorer.windows(0, 7, TOKENIZER.encode(longer), BLOCK);
        // Every target of [start] + sentence is scored exactly once, in order.
        List<Integer> targets = new ArrayList<>();
        windows.forEach(w -> {
            assertTrue(w.input().length <= BLOCK);
            for (int t : w.targets()) {
                targets.add(t);
            }
        });
        List<Integer> expected = new ArrayList<>();
        for (int id : TOKENIZER.encode(longer)) {
            expected.add(id);
        }
        assertEquals(expected, targets);
        assertEquals(7, windows.get(0).input()[0]);
        assertEquals(0, windows.get(0).firstScored());
        for (SentenceScorer.Window w : windows.subList(1, windows.size())) {
            assertEquals(BLOCK / 2 - 1, w.firstScored(), "later windows keep half a block before their first target");
        }
        try (ExportedModel m = ExportedModel.open(model(null), 1)) {
            double score = new SentenceScorer(m, 4).score(List.of(longer, "ab"))[0];
            // The reference gives every token the full block of context: close but not equal.
            double full = direct(m, new SentenceScorer(m, 1).startToken(), longer);
            assertTrue(score < 0 && Math.abs(score - full) < 0.5 * Math.abs(full), score + " vs " + full);
        }
    }

    @Test
    void unencodableSentencesAreNaNAndOthersStillScore() throws Exception {
        try (ExportedModel m = ExportedModel.open(model(null), 1)) {
            double[] s = new SentenceScorer(m, 8).score(List.of("Capital", "fine"));
            assertTrue(Double.isNaN(s[0]));
            assertTrue(s[1] < 0);
        }
    }

    @Test
    void aModelWithoutAnLmHeadIsRefused() throws Exception {
        DataException e = assertThrows(DataException.class, () -> ExportedModel.open(model("classify"), 1));
        assertTrue(e.getMessage().contains("is a text classifier (troupe.task=classify), not a language model"),
                e.getMessage());
    }
}
