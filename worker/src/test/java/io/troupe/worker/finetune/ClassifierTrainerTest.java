package io.troupe.worker.finetune;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.troupe.data.labelled.LabelledExample;
import io.troupe.data.tokenize.CharTokenizer;
import io.troupe.data.tokenize.Tokenizer;
import io.troupe.model.gpt.ClassifierGraphs;
import io.troupe.model.gpt.ClassifierHead;
import io.troupe.model.gpt.GptConfig;
import io.troupe.model.gpt.ParameterInit;
import io.troupe.model.gpt.ParameterLayout;
import io.troupe.model.gpt.Pooling;
import io.troupe.model.gpt.TrainingScope;
import io.troupe.worker.engine.EngineOptions;
import io.troupe.worker.job.StartingPoint;
import io.troupe.worker.run.TrainListener;
import io.troupe.worker.train.TrainSettings;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ClassifierTrainerTest {
    private static final Tokenizer TOKENIZER = CharTokenizer.fromText("abxy ");

    /** Label 1 when the text holds more a's than b's: the model must read the whole text. */
    private static List<LabelledExample> examples(int n, long seed) {
        Random r = new Random(seed);
        List<LabelledExample> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int len = 3 + r.nextInt(9);
            StringBuilder s = new StringBuilder();
            int a = 0;
            for (int j = 0; j < len; j++) {
                boolean isA = r.nextBoolean();
                a += isA ? 1 : -1;
                s.append(isA ? 'a' : 'b');
            }
            if (a == 0) {
                s.append('a');
                a = 1;
            }
            out.add(new LabelledExample(s.toString(), a > 0 ? 1 : 0, "test:" + i));
        }
        return out;
    }

    private static TrainSettings settings(long steps) {
        return settings(steps, Map.of());
    }

    private static TrainSettings settings(long steps, Map<String, String> more) {
        Map<String, String> s = new java.util.HashMap<>(Map.of("n_layer", "2", "n_head", "2", "n_embd", "32",
                "block_size", "16", "batch_size", "16", "learning_rate", "3e-3", "min_lr", "3e-4", "warmup_iters", "2",
                "eval_interval", "1000", "seed", "3"));
        s.put("lr_decay_iters", String.valueOf(steps));
        s.put("max_iters", String.valueOf(steps));
        s.putAll(more);
        return TrainSettings.load(null, s);
    }

    private static StartingPoint start(GptConfig cfg, ClassifierHead head, TrainingScope scope) {
        ParameterLayout layout = ClassifierGraphs.layout(cfg, head);
        return new StartingPoint(ParameterInit.gpt2(cfg, layout, 11), scope.select(cfg, layout));
    }

    @Test
    void fullFineTuningLearnsATaskThatNeedsTheWholeText() throws Exception {
        TrainSettings settings = settings(150);
        GptConfig cfg = settings.model(TOKENIZER.vocabSize());
        ClassifierHead head = new ClassifierHead(2, Pooling.LAST);
        EncodedExamples train = EncodedExamples.encode(examples(400, 1), TOKENIZER, 16);
        EncodedExamples val = EncodedExamples.encode(examples(100, 2), TOKENIZER, 16);
        ClassifierTrainer trainer = new ClassifierTrainer(settings, cfg, head, start(cfg, head, TrainingScope.ALL),
                EngineOptions.cpu(1));
        ClassifierTrainer.Result result = trainer.run(train, val, TrainListener.SILENT);
        int correct = 0;
        for (int i = 0; i < val.size(); i++) {
            correct += result.valPredicted()[i] == val.label(i) ? 1 : 0;
        }
        // Majority class is ~50%; counting a's against b's needs attention over the whole text.
        assertTrue(correct >= 85, "val accuracy " + correct + "/100");
        assertTrue(result.valLoss() < 0.5, "val loss " + result.valLoss());
    }

    @Test
    void aLinearProbeChangesOnlyTheHead() throws Exception {
        TrainSettings settings = settings(5);
        GptConfig cfg = settings.model(TOKENIZER.vocabSize());
        ClassifierHead head = new ClassifierHead(2, Pooling.MEAN);
        StartingPoint start = start(cfg, head, new TrainingScope(false, 0, true));
        assertEquals(2L * 32 + 2, start.trainable().count());
        EncodedExamples train = EncodedExamples.encode(examples(40, 1), TOKENIZER, 16);
        ClassifierTrainer.Result result = new ClassifierTrainer(settings, cfg, head, start, EngineOptions.cpu(1))
                .run(train, null, TrainListener.SILENT);
        ParameterLayout layout = start.trainable().full();
        int bodyEnd = Math.toIntExact(layout.view("cls.weight").offset());
        assertArrayEquals(Arrays.copyOf(start.fullParameters(), bodyEnd), Arrays.copyOf(result.fullParameters(), bodyEnd));
        assertFalse(Arrays.equals(start.fullParameters(), result.fullParameters()), "the head trained");
    }

    @Test
    void discriminativeLearningRatesScaleTheBodysUpdateAsAsked() throws Exception {
        ClassifierHead head = new ClassifierHead(2, Pooling.LAST);
        EncodedExamples train = EncodedExamples.encode(examples(40, 1), TOKENIZER, 16);
        TrainSettings one = settings(1, Map.of("lr_decay_iters", "10"));
        GptConfig cfg = one.model(TOKENIZER.vocabSize());
        StartingPoint start = start(cfg, head, TrainingScope.ALL);
        float[] p0 = start.fullParameters();
        float[] full = new ClassifierTrainer(one, cfg, head, start, EngineOptions.cpu(1))
                .run(train, null, TrainListener.SILENT).fullParameters();
        // Two blocks: h.1 at the body's 0.25, h.0 at 0.25 * 0.5, the embeddings at 0.25 * 0.25.
        TrainSettings disc = settings(1, Map.of("lr_decay_iters", "10", "lr_body_scale", "0.25", "lr_layer_decay", "0.5"));
        float[] scaled = new ClassifierTrainer(disc, cfg, head, start, EngineOptions.cpu(1))
                .run(train, null, TrainListener.SILENT).fullParameters();
        ParameterLayout layout = start.trainable().full();
        Map<String, Double> expected = Map.of("wte", 0.0625, "wpe", 0.0625, "h.0.attn.c_attn.weight", 0.125,
                "h.1.attn.c_attn.weight", 0.25, "h.1.mlp.c_fc.weight", 0.25, "ln_f.weight", 1.0, "cls.weight", 1.0);
        expected.forEach((name, factor) -> {
            ParameterLayout.View v = layout.view(name);
            int moved = 0;
            for (long i = v.offset(); i < v.offset() + v.length(); i++) {
                int k = Math.toIntExact(i);
                double asked = factor * (full[k] - p0[k]);
                assertEquals(asked, scaled[k] - p0[k], 2e-7 + 1e-4 * Math.abs(asked), name + "[" + (i - v.offset()) + "]");
                moved += full[k] != p0[k] ? 1 : 0;
            }
            assertTrue(moved > 0, name + " was updated");
        });
    }

    @Test
    void keepingBestReturnsTheParametersOfTheBestEvaluationAndScoresTheTestSetWithThem() throws Exception {
        ClassifierHead head = new ClassifierHead(2, Pooling.LAST);
        EncodedExamples train = EncodedExamples.encode(examples(200, 1), TOKENIZER, 16);
        EncodedExamples val = EncodedExamples.encode(examples(40, 2), TOKENIZER, 16);
        EncodedExamples test = EncodedExamples.encode(examples(30, 3), TOKENIZER, 16);
        Map<String, String> schedule = Map.of("eval_interval", "4", "lr_decay_iters", "24", "learning_rate", "1e-2");
        TrainSettings settings = settings(24, schedule);
        GptConfig cfg = settings.model(TOKENIZER.vocabSize());
        StartingPoint start = start(cfg, head, TrainingScope.ALL);
        List<Double> valLosses = new ArrayList<>();
        TrainListener listener = new TrainListener() {
            @Override
            public void onEval(long step, double trainLoss, double valLoss) {
                valLosses.add(valLoss);
            }
        };
        ClassifierTrainer.Result best = new ClassifierTrainer(settings, cfg, head, start, EngineOptions.cpu(1))
                .keepingBest().run(train, val, test, listener);
        assertEquals(0, best.keptStep() % 4);
        assertEquals(test.size(), best.testPredicted().length);
        assertTrue(valLosses.contains(best.valLoss()), "the kept val loss is one of the evaluations'");
        // The same run stopped at the kept step (same schedule) ends with exactly the kept parameters.
        TrainSettings upTo = settings(best.keptStep(), schedule); // max_iters = kept step, lr_decay_iters still 24
        ClassifierTrainer.Result plain = new ClassifierTrainer(upTo, cfg, head, start, EngineOptions.cpu(1))
                .run(train, val, test, TrainListener.SILENT);
        assertArrayEquals(plain.trainableParameters(), best.trainableParameters());
        assertArrayEquals(plain.testPredicted(), best.testPredicted());
    }

    @Test
    void charactersOutsideTheVocabularyAreDroppedAndCounted() {
        EncodedExamples e = EncodedExamples.encode(List.of(new LabelledExample("ab!?a", 0, "x:1"),
                new LabelledExample("ababababab", 1, "x:2")), TOKENIZER, 4);
        assertEquals(2, e.droppedCharacters());
        assertEquals(1, e.truncated());
        assertEquals(3, e.tokens().get(0).length);
        assertEquals(4, e.tokens().get(1).length);
    }
}
