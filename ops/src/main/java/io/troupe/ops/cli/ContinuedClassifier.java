package io.troupe.ops.cli;

import io.troupe.data.DataException;
import io.troupe.data.labelled.BadRow;
import io.troupe.data.labelled.LabelledData;
import io.troupe.data.labelled.LabelledReader;
import io.troupe.model.gpt.Pooling;
import java.nio.file.Path;
import java.util.List;

/**
 * The rules of {@code finetune --task classify --from RUN} where RUN is itself a classifier: the
 * head is continued, not replaced, so the data must speak the run's labels (its label set fixes
 * the head's columns) and the pooling is the run's.
 */
final class ContinuedClassifier {
    /** The reason {@link LabelledReader} gives a row whose label is outside a fixed label set. */
    private static final String UNKNOWN_LABEL = "unknown label";

    private ContinuedClassifier() {
    }

    /**
     * Reads {@code data} in the run's label set. Any class may be absent (feedback often names
     * only a few), but a label the run does not know is refused, naming the row: a continued
     * head has no column for it.
     *
     * @throws UserError (input data) for an unknown label, naming the first row and how to add labels
     * @throws DataException for the reader's other refusals (missing file, too many bad rows, ...)
     */
    static LabelledData read(Path data, SourceModel.Classifier run, String from, int maxBadRows) throws DataException {
        // Read leniently first, so an unknown label is reported as such, not as "too many bad rows".
        LabelledData lenient = LabelledReader.forEvaluation(run.labels(), Integer.MAX_VALUE).read(data);
        List<BadRow> unknown = lenient.badRows().stream().filter(b -> b.reason().startsWith(UNKNOWN_LABEL)).toList();
        if (!unknown.isEmpty()) {
            throw UserError.inputData(unknown.size() + " row(s) of " + data + " have labels the classifier --from " + from
                    + " does not know (first: " + unknown.get(0) + "); its labels are " + run.labels().names()
                    + ". Continuing a classifier keeps its label set: relabel or drop those rows, or add a label by"
                    + " fine-tuning from the language model it came from on data with every label");
        }
        if (lenient.badRows().size() > maxBadRows) {
            return LabelledReader.forEvaluation(run.labels(), maxBadRows).read(data);    // throws, naming the rows
        }
        return lenient;
    }

    /**
     * The pooling to train with: the run's. A different {@code --pooling} is refused, since the
     * head was trained on the run's pooled states.
     *
     * @param asked the --pooling given, or null when it was not
     */
    static Pooling pooling(SourceModel.Classifier run, String from, String asked) {
        Pooling pooling = run.head().pooling();
        if (asked != null && !asked.equals(pooling.label())) {
            throw UserError.usage("--pooling " + asked + " differs from the classifier --from " + from + ", which pools "
                    + pooling.label() + "; drop --pooling to continue it");
        }
        return pooling;
    }
}
