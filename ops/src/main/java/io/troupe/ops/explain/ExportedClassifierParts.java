package io.troupe.ops.explain;

import io.troupe.data.DataException;
import io.troupe.data.labelled.LabelSet;
import io.troupe.data.tokenize.Tokenizer;
import io.troupe.model.gpt.ClassifierHead;
import io.troupe.model.gpt.Pooling;
import io.troupe.worker.run.ClassifierExport;
import java.nio.file.Path;

/**
 * What every exported classifier, GPT or encoder, brings beside its body: the label set, the head
 * (classes and pooling, from the export's metadata) and the tokenizer, each checked against the
 * weights so that files from different runs are refused in one line.
 */
record ExportedClassifierParts(LabelSet labels, ClassifierHead head, Tokenizer tokenizer) {

    /**
     * Reads the parts of the classifier exported in {@code dir}.
     *
     * @param fallback the pooling of an export written before its pooling was recorded
     * @param vocabSize the embedding rows of the body, which the tokenizer must match
     */
    static ExportedClassifierParts read(Path dir, ExportedWeights weights, Pooling fallback, int vocabSize)
            throws DataException {
        LabelSet labels = LabelSet.read(dir.resolve(LabelSet.FILE_NAME));
        int classes = weights.intMeta(ClassifierExport.CLASSES);
        if (labels.size() != classes) {
            throw new DataException(dir.resolve(LabelSet.FILE_NAME) + " names " + labels.size() + " labels but "
                    + weights.file() + " has " + classes + " classes; they come from different runs");
        }
        Pooling pooling;
        try {
            pooling = Pooling.parse(weights.metadata().getOrDefault(ClassifierExport.POOLING, fallback.label()));
        } catch (IllegalArgumentException e) {
            throw new DataException(weights.file() + ": " + e.getMessage(), e);
        }
        Tokenizer tokenizer = Tokenizer.load(dir);
        if (tokenizer.vocabSize() != vocabSize) {
            throw new DataException(weights.file() + " has a vocabulary of " + vocabSize + " but tokenizer.json has "
                    + tokenizer.vocabSize() + "; they come from different runs");
        }
        return new ExportedClassifierParts(labels, new ClassifierHead(classes, pooling), tokenizer);
    }
}
