package io.troupe.worker.finetune;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.troupe.data.labelled.LabelledData;
import io.troupe.data.labelled.LabelledExample;
import io.troupe.data.labelled.LabelledReader;
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
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The sanity check of any classifier trainer: on a few dozen real sentences it must drive the
 * training loss to ~0 and predict its own training set. A trainer that cannot memorise 32
 * examples has a bug, whatever it scores on held-out data.
 */
class ClassifierOverfitTest {
    private static final Path SENTIMENT = Path.of("../../shared/data/sentiment-labelled-sentences/amazon_cells_labelled.txt");

    @Test
    void memorisesThirtyTwoRealSentences() throws Exception {
        LabelledData data = LabelledReader.forTraining(0).read(SENTIMENT);
        List<LabelledExample> few = data.examples().subList(0, 32);
        Tokenizer tokenizer = CharTokenizer.fromText(data.examples().stream().map(LabelledExample::text)
                .collect(Collectors.joining()));
        Map<String, String> s = new HashMap<>(Map.of("n_layer", "2", "n_head", "2", "n_embd", "32",
                "block_size", "64", "batch_size", "16", "eval_interval", "1000", "seed", "3"));
        // The recipe of the shakespeare-char-small preset (lr 1e-3 -> 1e-4, warm-up 100, weight decay
        // 0.1, clipping at 1.0) that the sentiment runs used, on a model small enough for a unit test.
        s.putAll(Map.of("max_iters", "150", "lr_decay_iters", "150", "learning_rate", "1e-3", "min_lr", "1e-4",
                "warmup_iters", "100", "weight_decay", "0.1", "grad_clip", "1.0"));
        TrainSettings settings = TrainSettings.load(null, s);
        GptConfig cfg = settings.model(tokenizer.vocabSize());
        ClassifierHead head = new ClassifierHead(2, Pooling.LAST);
        ParameterLayout layout = ClassifierGraphs.layout(cfg, head);
        StartingPoint start = new StartingPoint(ParameterInit.gpt2(cfg, layout, 11), TrainingScope.ALL.select(cfg, layout));
        EncodedExamples train = EncodedExamples.encode(few, tokenizer, 64);
        ClassifierTrainer.Result result = new ClassifierTrainer(settings, cfg, head, start, EngineOptions.cpu(1))
                .run(train, train, TrainListener.SILENT);
        int correct = 0;
        for (int i = 0; i < train.size(); i++) {
            correct += result.valPredicted()[i] == train.label(i) ? 1 : 0;
        }
        // Scored on the training examples themselves, by the evaluation graph (no dropout).
        assertTrue(result.valLoss() < 0.1, "training-set loss " + result.valLoss());
        assertTrue(correct >= 31, "memorised " + correct + "/32, loss " + result.valLoss());
    }
}
