package io.troupe.ops.inference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.troupe.data.DataException;
import io.troupe.data.io.AtomicFiles;
import io.troupe.data.tokenize.CharTokenizer;
import io.troupe.data.tokenize.Tokenizer;
import io.troupe.model.gpt.GptConfig;
import io.troupe.model.gpt.KvCacheGraphs;
import io.troupe.model.gpt.ParameterInit;
import io.troupe.model.gpt.ParameterLayout;
import io.troupe.model.graph.Graph;
import io.troupe.worker.run.ModelExport;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The KV-cache decoder against the uncached one: the same greedy tokens before, at and past the
 * block size (the window slides by one token, as uncached generation crops), and batched steps
 * over sequences of different lengths equal to each sequence decoded alone; each with the step
 * graph (decoder_step.onnx) and with decoder.onnx stepping on its own, as an older export does.
 */
class KvCacheDecoderTest {
    private static final String ALPHABET = "abcdefghijklm";
    private static final int BLOCK = 8;
    private static final GptConfig CFG = new GptConfig(ALPHABET.length(), BLOCK, 2, 2, 16, 0.0, true, false);

    @TempDir
    static Path dir;

    @BeforeAll
    static void export() throws Exception {
        float[] params = ParameterInit.gpt2(CFG, ParameterLayout.of(CFG), 11);
        // Far larger than GPT-2's init, so attention is sharp and a wrong position or mask shows.
        for (int i = 0; i < params.length; i++) {
            params[i] *= 20;
        }
        AtomicFiles.writeString(dir.resolve(Tokenizer.FILE_NAME), CharTokenizer.fromText(ALPHABET).toJson() + "\n");
        ModelExport.write(dir, CFG, params);
    }

    private static KvCacheDecoder cached(long budget) {
        return KvCacheDecoder.open(dir, 1, budget);
    }

    private static KvCacheDecoder cached() {
        return cached(KvCacheDecoder.DEFAULT_BUDGET_BYTES);
    }

    /** The decoder stepping with decoder_step.onnx (true) or with decoder.onnx's present outputs (false). */
    private static KvCacheDecoder cached(boolean stepGraph) {
        return KvCacheDecoder.open(dir, 1, KvCacheDecoder.DEFAULT_BUDGET_BYTES, Integer.MAX_VALUE, stepGraph);
    }


    private static int[] greedy(BatchDecoder decoder, String prompt, int tokens) throws Exception {
        Tokenizer tokenizer = Tokenizer.load(dir);
        return new TextGenerator(decoder, tokenizer)
                .generate(prompt, tokens, new TokenSampler(1.0, 1, 0), 1.0, List.of(), s -> { })
                .tokenIds();
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void cachedAndUncachedGreedyGenerationGiveTheSameTokensShorterEqualAndLongerThanTheBlock(boolean stepGraph) throws Exception {
        // 3 tokens (< block), 8 (= block), 19 (> block: cropped to its last 8). 20 new tokens each
        // run past the window, where the cached decoder slides it by one token per step.
        for (String prompt : List.of("abc", "hgfedcba", "mlkjihgfedcbabcdefg")) {
            int[] expected;
            int[] actual;
            try (ExportedModel full = ExportedModel.open(dir, 1);
                 UncachedBatchDecoder reference = new UncachedBatchDecoder(full, 4); KvCacheDecoder decoder = cached(stepGraph)) {
                expected = greedy(reference, prompt, 20);
                actual = greedy(decoder, prompt, 20);
                assertEquals(0, decoder.openSlots(), "generation releases its slot");
            }
            assertArrayEquals(expected, actual, "prompt '" + prompt + "'");
            assertTrue(java.util.Arrays.stream(expected).distinct().count() > 2, "a degenerate model would prove little");
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void sequencesOfDifferentLengthsDecodedInOneBatchEqualEachDecodedAlone(boolean stepGraph) throws Exception {
        Random random = new Random(5);
        int[][] prompts = {tokens(random, 2), tokens(random, 5), tokens(random, 7), tokens(random, 12)};
        int steps = 6; // the 7-token prompt fills its window at the first step and slides after
        int[][] fed = new int[prompts.length][steps];
        for (int[] row : fed) {
            for (int s = 0; s < steps; s++) {
                row[s] = random.nextInt(CFG.vocabSize());
            }
        }
        float[][][] alone = new float[prompts.length][steps + 1][];
        try (KvCacheDecoder decoder = cached(stepGraph)) {
            for (int i = 0; i < prompts.length; i++) {
                BatchDecoder.Opened opened = decoder.open(prompts[i]);
                alone[i][0] = opened.logits();
                for (int s = 0; s < steps; s++) {
                    alone[i][s + 1] = decoder.step(List.of(opened.slot()), new int[] {fed[i][s]})[0];
                }
                decoder.release(opened.slot());
            }
        }
        try (KvCacheDecoder decoder = cached(stepGraph); ExportedModel full = ExportedModel.open(dir, 1);
                 UncachedBatchDecoder reference = new UncachedBatchDecoder(full, 4)) {
            List<BatchDecoder.Slot> slots = new ArrayList<>();
            for (int i = 0; i < prompts.length; i++) {
                BatchDecoder.Opened opened = decoder.open(prompts[i]);
                assertClose(alone[i][0], opened.logits(), "prefill " + i);
                assertClose(reference.open(prompts[i]).logits(), opened.logits(), "prefill " + i + " vs uncached");
                slots.add(opened.slot());
            }
            for (int s = 0; s < steps; s++) {
                int[] tokens = new int[prompts.length];
                for (int i = 0; i < prompts.length; i++) {
                    tokens[i] = fed[i][s];
                }
                float[][] batched = decoder.step(slots, tokens);
                for (int i = 0; i < prompts.length; i++) {
                    assertClose(alone[i][s + 1], batched[i], "sequence " + i + ", step " + s);
                    assertEquals(prompts[i].length + s + 1, slots.get(i).length());
                }
            }
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void joinersPrefilledTogetherGiveTheSameLogitsAndGreedyTokensAsOneAtATime(boolean stepGraph) throws Exception {
        // Lengths 1..12 around the block of 8: one batched open pads them into groups (8, 5 and 12
        // cropped to 8 share a group; 3 and 1 go apart), and each cache is sized for 2 new tokens
        // only, so the 10 greedy steps grow every cache and slide the window past the block.
        Random random = new Random(21);
        int[][] prompts = {tokens(random, 3), tokens(random, 8), tokens(random, 1), tokens(random, 12), tokens(random, 5)};
        int steps = 10;
        int[][] oneAtATime = new int[prompts.length][];
        float[][] firstLogits = new float[prompts.length][];
        try (KvCacheDecoder decoder = cached(stepGraph)) {
            for (int i = 0; i < prompts.length; i++) {
                BatchDecoder.Opened opened = decoder.open(prompts[i]);
                firstLogits[i] = opened.logits();
                oneAtATime[i] = greedySteps(decoder, List.of(opened), steps)[0];
                decoder.release(opened.slot());
            }
        }
        try (KvCacheDecoder decoder = cached(stepGraph)) {
            List<BatchDecoder.Start> starts = new ArrayList<>();
            for (int[] prompt : prompts) {
                starts.add(new BatchDecoder.Start(prompt, 2));
            }
            List<BatchDecoder.Opened> opened = decoder.openAll(starts);
            assertEquals(prompts.length, decoder.openSlots());
            for (int i = 0; i < prompts.length; i++) {
                assertClose(firstLogits[i], opened.get(i).logits(), "batched prefill " + i);
                assertEquals(prompts[i].length, opened.get(i).slot().length());
            }
            int[][] together = greedySteps(decoder, opened, steps);
            for (int i = 0; i < prompts.length; i++) {
                assertArrayEquals(oneAtATime[i], together[i], "prompt " + i + " of length " + prompts[i].length);
            }
            assertTrue(java.util.Arrays.stream(together).flatMapToInt(java.util.Arrays::stream).distinct().count() > 3,
                    "a degenerate model would prove little");
            opened.forEach(o -> decoder.release(o.slot()));
            assertEquals(0, decoder.openSlots());
            assertThrows(IllegalStateException.class, () -> decoder.openAll(java.util.Collections.nCopies(
                    decoder.capacity() + 1, new BatchDecoder.Start(new int[] {1}, 1))), "more than the capacity");
            assertEquals(0, decoder.openSlots(), "a refused open holds nothing");
        }
    }

    /** Greedy tokens of {@code steps} batched steps over the opened sequences, [sequence][step]. */
    private static int[][] greedySteps(BatchDecoder decoder, List<BatchDecoder.Opened> opened, int steps) throws Exception {
        int[][] out = new int[opened.size()][steps];
        List<BatchDecoder.Slot> slots = new ArrayList<>();
        int[] next = new int[opened.size()];
        for (int i = 0; i < opened.size(); i++) {
            slots.add(opened.get(i).slot());
            next[i] = argmax(opened.get(i).logits());
        }
        for (int s = 0; s < steps; s++) {
            float[][] logits = decoder.step(slots, next);
            for (int i = 0; i < next.length; i++) {
                out[i][s] = next[i];
                next[i] = argmax(logits[i]);
            }
        }
        return out;
    }

    private static int argmax(float[] logits) {
        int best = 0;
        for (int i = 1; i < logits.length; i++) {
            if (logits[i] > logits[best]) {
                best = i;
            }
        }
        return best;
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void aSlotCanJoinTheBatchBetweenSteps(boolean stepGraph) throws Exception {
        try (KvCacheDecoder decoder = cached(stepGraph); ExportedModel full = ExportedModel.open(dir, 1);
                 UncachedBatchDecoder reference = new UncachedBatchDecoder(full, 4)) {
            BatchDecoder.Opened a = decoder.open(new int[] {1, 2, 3});
            BatchDecoder.Opened ra = reference.open(new int[] {1, 2, 3});
            decoder.step(List.of(a.slot()), new int[] {4});
            reference.step(List.of(ra.slot()), new int[] {4});
            BatchDecoder.Opened b = decoder.open(new int[] {9});
            BatchDecoder.Opened rb = reference.open(new int[] {9});
            float[][] both = decoder.step(List.of(b.slot(), a.slot()), new int[] {10, 5});
            float[][] expected = reference.step(List.of(rb.slot(), ra.slot()), new int[] {10, 5});
            assertClose(expected[0], both[0], "joined");
            assertClose(expected[1], both[1], "already there");
            decoder.release(a.slot());
            float[][] alone = decoder.step(List.of(b.slot()), new int[] {11});
            assertClose(reference.step(List.of(rb.slot()), new int[] {11})[0], alone[0], "after the other left");
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void rowsMoveForJoinsLeavesAndSubsetsWithoutMixingSequences(boolean stepGraph) throws Exception {
        // Six sequences outgrow the arena's first four rows; a step over three of them moves
        // those to the front; leaves from the middle hand their rows to the last sequence. Every
        // logit equals the uncached model's.
        Random random = new Random(9);
        try (KvCacheDecoder decoder = cached(stepGraph); ExportedModel full = ExportedModel.open(dir, 1);
                 UncachedBatchDecoder reference = new UncachedBatchDecoder(full, 8)) {
            List<BatchDecoder.Slot> slots = new ArrayList<>();
            List<BatchDecoder.Slot> refs = new ArrayList<>();
            for (int[] prompt : new int[][] {{3}, {1, 7}, {4, 4, 2}}) {
                slots.add(decoder.open(prompt).slot());
                refs.add(reference.open(prompt).slot());
            }
            compareSteps(decoder, reference, slots, refs, 2, random, "three rows");
            long before = decoder.arenaRelayouts();
            for (int[] prompt : new int[][] {{5}, {6, 1}, {2, 2, 2, 2}}) {
                slots.add(decoder.open(prompt).slot());
                refs.add(reference.open(prompt).slot());
            }
            assertEquals(before + 1, decoder.arenaRelayouts(), "six rows outgrow the first four once");
            compareSteps(decoder, reference, slots, refs, 1, random, "after the joins");
            compareSteps(decoder, reference, List.of(slots.get(5), slots.get(1), slots.get(3)),
                    List.of(refs.get(5), refs.get(1), refs.get(3)), 1, random, "a subset");
            compareSteps(decoder, reference, slots, refs, 1, random, "all again, rows reordered");
            decoder.release(slots.remove(1));
            reference.release(refs.remove(1));
            decoder.release(slots.remove(2));
            reference.release(refs.remove(2));
            compareSteps(decoder, reference, slots, refs, 2, random, "after two leaves");
            assertEquals(stepGraph ? 7 : 0, decoder.inPlaceSteps(), "the steps ran " + (stepGraph
                    ? "decoder_step.onnx" : "decoder.onnx"));
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void theRoomGrowsForALongSequenceAndShrinksWhenItLeaves(boolean stepGraph, @TempDir Path longDir) throws Exception {
        // Block 160, so the room moves in steps of 64: a 70-token prompt takes 128 positions, its
        // steps outgrow them (160, the block), and when it leaves, the short sequence that joined
        // later needs a quarter of that at most: the room shrinks to 64.
        GptConfig longCfg = new GptConfig(ALPHABET.length(), 160, 1, 2, 16, 0.0, true, false);
        float[] params = ParameterInit.gpt2(longCfg, ParameterLayout.of(longCfg), 4);
        for (int i = 0; i < params.length; i++) {
            params[i] *= 20;
        }
        AtomicFiles.writeString(longDir.resolve(Tokenizer.FILE_NAME), CharTokenizer.fromText(ALPHABET).toJson() + "\n");
        ModelExport.write(longDir, longCfg, params);
        Random random = new Random(3);
        try (KvCacheDecoder decoder = KvCacheDecoder.open(longDir, 1, KvCacheDecoder.DEFAULT_BUDGET_BYTES, 4, stepGraph);
                 ExportedModel full = ExportedModel.open(longDir, 1);
                 UncachedBatchDecoder reference = new UncachedBatchDecoder(full, 4)) {
            List<BatchDecoder.Slot> slots = new ArrayList<>();
            List<BatchDecoder.Slot> refs = new ArrayList<>();
            int[] longPrompt = tokens(random, 70);
            slots.add(decoder.open(longPrompt).slot());
            refs.add(reference.open(longPrompt).slot());
            assertEquals(128, decoder.arenaRoom());
            compareSteps(decoder, reference, slots, refs, 60, random, "growing");
            assertEquals(160, decoder.arenaRoom(), "130 positions outgrew 128");
            int[] shortPrompt = tokens(random, 3);
            slots.add(decoder.open(shortPrompt).slot());
            refs.add(reference.open(shortPrompt).slot());
            compareSteps(decoder, reference, slots, refs, 2, random, "long and short");
            decoder.release(slots.remove(0));
            reference.release(refs.remove(0));
            assertEquals(64, decoder.arenaRoom(), "the short sequence alone needs 64");
            compareSteps(decoder, reference, slots, refs, 3, random, "after shrinking");
        }
    }

    private static void compareSteps(KvCacheDecoder decoder, UncachedBatchDecoder reference, List<BatchDecoder.Slot> slots,
                                     List<BatchDecoder.Slot> refs, int steps, Random random, String what) throws Exception {
        for (int s = 0; s < steps; s++) {
            int[] tokens = new int[slots.size()];
            for (int i = 0; i < tokens.length; i++) {
                tokens[i] = random.nextInt(ALPHABET.length());
            }
            float[][] expected = reference.step(refs, tokens);
            float[][] actual = decoder.step(slots, tokens);
            for (int i = 0; i < tokens.length; i++) {
                assertClose(expected[i], actual[i], what + ", step " + s + ", row " + i);
            }
        }
    }

    @Test
    void capacityComesFromTheBudgetAndSlotsComeBack() throws Exception {
        long perSlot = KvCacheDecoder.bytesPerSlot(CFG.nLayer(), CFG.nEmbd(), CFG.blockSize());
        assertEquals(2L * 2 * 16 * BLOCK * 4, perSlot);
        try (KvCacheDecoder decoder = cached(2 * perSlot + perSlot / 2)) {
            assertEquals(2, decoder.capacity());
            BatchDecoder.Opened a = decoder.open(new int[] {1});
            BatchDecoder.Opened b = decoder.open(new int[] {2});
            assertEquals(2, decoder.openSlots());
            IllegalStateException full = assertThrows(IllegalStateException.class, () -> decoder.open(new int[] {3}));
            assertTrue(full.getMessage().contains("all 2 KV-cache slots are held"), full.getMessage());
            decoder.release(a.slot());
            decoder.release(a.slot()); // twice is harmless
            assertEquals(1, decoder.openSlots());
            assertThrows(IllegalArgumentException.class, () -> decoder.step(List.of(a.slot()), new int[] {1}));
            assertThrows(IllegalArgumentException.class, () -> decoder.step(List.of(b.slot(), b.slot()), new int[] {1, 1}));
            assertThrows(IllegalArgumentException.class, () -> decoder.step(List.of(b.slot()), new int[] {CFG.vocabSize()}));
            assertThrows(IllegalArgumentException.class, () -> decoder.open(new int[0]));
            decoder.open(new int[] {3});
            assertEquals(2, decoder.openSlots());
        }
        IllegalArgumentException tooSmall = assertThrows(IllegalArgumentException.class, () -> cached(perSlot - 1));
        assertTrue(tooSmall.getMessage().contains("holds no sequence"), tooSmall.getMessage());
    }

    @Test
    void aDirectoryWithoutTheDecoderOrWithAClassifierIsRefused(@TempDir Path tmp) throws Exception {
        assertTrue(KvCacheDecoder.available(dir));
        assertTrue(!KvCacheDecoder.available(tmp));
        DataException missing = assertThrows(DataException.class, () -> KvCacheDecoder.open(tmp, 1, 1L << 20));
        assertTrue(missing.getMessage().contains("troupe export --run RUN_DIR --out " + tmp + " --force"), missing.getMessage());

        Graph classifier = KvCacheGraphs.decoder(CFG, FloatBuffer.wrap(ParameterInit.gpt2(CFG, ParameterLayout.of(CFG), 1)));
        classifier.metadata(ModelExport.BLOCK_SIZE, "8");
        classifier.metadata(ExportedModel.TASK, "classification");
        Files.write(tmp.resolve(ModelExport.DECODER_FILE_NAME), classifier.toBytes());
        DataException refused = assertThrows(DataException.class, () -> KvCacheDecoder.open(tmp, 1, 1L << 20));
        assertTrue(refused.getMessage().contains("is a 'classification' model (troupe.task), not a language model"),
                refused.getMessage());
    }

    @Test
    void aStepGraphOfOtherWeightsIsRefusedAndAnExportWithoutOneStillDecodes(@TempDir Path tmp) throws Exception {
        Path other = tmp.resolve("other");
        ModelExport.write(other, CFG, ParameterInit.gpt2(CFG, ParameterLayout.of(CFG), 99));
        Path mixed = tmp.resolve("mixed");
        Path old = tmp.resolve("old");
        for (Path target : List.of(mixed, old)) {
            Files.createDirectories(target);
            for (String name : List.of(ModelExport.DECODER_FILE_NAME, ModelExport.FILE_NAME, Tokenizer.FILE_NAME)) {
                Files.copy(dir.resolve(name), target.resolve(name));
            }
        }
        Files.copy(other.resolve(ModelExport.DECODER_STEP_FILE_NAME), mixed.resolve(ModelExport.DECODER_STEP_FILE_NAME));
        DataException refused = assertThrows(DataException.class, () -> KvCacheDecoder.open(mixed, 1, 1L << 20));
        assertTrue(refused.getMessage().contains("decoder_step.onnx does not match")
                && refused.getMessage().contains("re-export"), refused.getMessage());

        assertTrue(KvCacheDecoder.hasStepGraph(dir));
        assertTrue(!KvCacheDecoder.hasStepGraph(old));
        int[] expected;
        try (KvCacheDecoder decoder = cached()) {
            expected = greedy(decoder, "abc", 12);
        }
        try (KvCacheDecoder decoder = KvCacheDecoder.open(old, 1, 1L << 20)) {
            assertArrayEquals(expected, greedy(decoder, "abc", 12), "decoder.onnx alone gives the same tokens");
        }
    }

    private static int[] tokens(Random random, int n) {
        int[] t = new int[n];
        for (int i = 0; i < n; i++) {
            t[i] = random.nextInt(CFG.vocabSize());
        }
        return t;
    }

    private static void assertClose(float[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length, what);
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], 1e-3 * Math.max(1, Math.abs(expected[i])), what + " [" + i + "]");
        }
        assertNotEquals(0f, actual[0] * actual[0] + actual[actual.length - 1] * actual[actual.length - 1], what + ": all zero");
    }
}
