package io.troupe.ops.cli;

import io.troupe.data.tokenize.Tokenizer;
import io.troupe.model.gpt.ClassifierGraphs;
import io.troupe.model.gpt.ClassifierHead;
import io.troupe.model.gpt.GptConfig;
import io.troupe.model.gpt.LoraConfig;
import io.troupe.model.gpt.ParameterInit;
import io.troupe.model.gpt.ParameterLayout;
import io.troupe.model.gpt.Pooling;
import io.troupe.model.gpt.TrainingScope;
import io.troupe.worker.job.StartingPoint;
import io.troupe.worker.train.TrainSettings;

/**
 * A classifier ready to fine-tune, as {@code finetune --task classify} and a fine-tuning study's
 * trials build it: the body's shape, the head, the layout without adapters, and the starting
 * point (the source's GPT parameters, a fresh head from the seed, LoRA's A and B if asked, and
 * what trains).
 */
record ClassifierSetup(GptConfig cfg, ClassifierHead head, ParameterLayout layout, StartingPoint start) {

    /**
     * @param source the pretrained model, or null for random weights (the scratch baseline)
     * @param lora LoRA's settings, or null
     */
    static ClassifierSetup of(TrainSettings settings, SourceModel source, Tokenizer tokenizer, int classes,
                              Pooling pooling, TrainingScope scope, LoraConfig lora) {
        GptConfig cfg = settings.model(tokenizer.vocabSize());
        ClassifierHead head = new ClassifierHead(classes, pooling);
        ParameterLayout layout = ClassifierGraphs.layout(cfg, head);
        float[] initial = ParameterInit.gpt2(cfg, layout, settings.seed());
        if (source != null) {
            // The GPT's parameters come first in the classifier's layout; only the head starts fresh.
            System.arraycopy(source.parameters(), 0, initial, 0, source.parameters().length);
        }
        ParameterLayout extended = layout;
        if (lora != null) {
            extended = lora.extend(layout, cfg);
            initial = lora.initialValues(extended, initial, settings.seed());
        }
        return new ClassifierSetup(cfg, head, layout,
                new StartingPoint(initial, FinetuneCommand.select(scope, lora, cfg, extended), lora));
    }
}
