package io.troupe.ops.cli;

import io.troupe.data.tokenize.Tokenizer;
import io.troupe.model.gpt.Backbone;
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
 * point (the source's body parameters (a GPT's or an encoder's), a fresh head from the seed, LoRA's A and B if asked, and
 * what trains).
 */
record ClassifierSetup(Backbone cfg, ClassifierHead head, ParameterLayout layout, StartingPoint start) {

    /**
     * @param source the pretrained model, or null for random weights (the scratch baseline)
     * @param lora LoRA's settings, or null
     */
    static ClassifierSetup of(TrainSettings settings, SourceModel source, Tokenizer tokenizer, int classes,
                              Pooling pooling, TrainingScope scope, LoraConfig lora) {
        GptConfig cfg = settings.model(tokenizer.vocabSize());
        return of(settings, cfg, source == null ? null : source.parameters(), classes, pooling, scope, lora);
    }

    /**
     * @param cfg the body's shape, with the dropout to train with
     * @param pretrained the body's parameters in its layout's order, or null for random weights
     * @param lora LoRA's settings, or null
     */
    static ClassifierSetup of(TrainSettings settings, Backbone cfg, float[] pretrained, int classes,
                              Pooling pooling, TrainingScope scope, LoraConfig lora) {
        ClassifierHead head = new ClassifierHead(classes, pooling);
        ParameterLayout layout = ClassifierGraphs.layout(cfg, head);
        float[] initial = ParameterInit.gpt2(cfg, layout, settings.seed());
        if (pretrained != null) {
            // The body's parameters come first in the classifier's layout; only the head starts fresh.
            System.arraycopy(pretrained, 0, initial, 0, pretrained.length);
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
