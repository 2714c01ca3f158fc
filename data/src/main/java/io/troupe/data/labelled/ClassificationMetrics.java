package io.troupe.data.labelled;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * How well predicted classes match gold classes: accuracy, per-class and macro-averaged
 * precision, recall and F1, and the confusion matrix.
 *
 * <p>Definitions (those of scikit-learn's {@code classification_report} with
 * {@code zero_division=0}): a class never predicted has precision 0 and F1 0, and a class with no
 * gold example has recall 0 and F1 0; each such case adds a line to {@link #warnings()}. Macro
 * averages are the unweighted means over <em>every</em> class of the label set, including classes
 * absent from the data, so a model's macro F1 on two test sets is averaged over the same classes.
 */
public final class ClassificationMetrics {

    private static final ObjectMapper MAPPER = new ObjectMapper();

    private final LabelSet labels;
    private final long[][] confusion;
    private final long correct;
    private final long total;
    private final List<ClassMetrics> perClass;
    private final List<String> warnings;

    private ClassificationMetrics(LabelSet labels, long[][] confusion) {
        this.labels = labels;
        this.confusion = confusion;
        int k = labels.size();
        long correctCount = 0;
        long totalCount = 0;
        for (int g = 0; g < k; g++) {
            for (int p = 0; p < k; p++) {
                totalCount += confusion[g][p];
            }
            correctCount += confusion[g][g];
        }
        this.correct = correctCount;
        this.total = totalCount;
        List<ClassMetrics> classes = new ArrayList<>(k);
        List<String> notes = new ArrayList<>();
        for (int c = 0; c < k; c++) {
            long predicted = 0;
            long gold = 0;
            for (int i = 0; i < k; i++) {
                predicted += confusion[i][c];
                gold += confusion[c][i];
            }
            long tp = confusion[c][c];
            double precision = predicted == 0 ? 0 : (double) tp / predicted;
            double recall = gold == 0 ? 0 : (double) tp / gold;
            double f1 = precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall);
            if (predicted == 0) {
                notes.add("class '" + labels.name(c) + "' was never predicted: its precision and F1 are set to 0");
            }
            if (gold == 0) {
                notes.add("class '" + labels.name(c) + "' has no gold examples: its recall and F1 are set to 0");
            }
            classes.add(new ClassMetrics(labels.name(c), precision, recall, f1, (int) gold));
        }
        this.perClass = List.copyOf(classes);
        this.warnings = List.copyOf(notes);
    }

    /**
     * Scores {@code predicted} against {@code gold}, both class indices into {@code labels}, one
     * per example.
     *
     * @throws IllegalArgumentException if the arrays differ in length, are empty, or hold an index
     *     outside the label set
     */
    public static ClassificationMetrics of(LabelSet labels, int[] gold, int[] predicted) {
        if (gold.length != predicted.length) {
            throw new IllegalArgumentException(gold.length + " gold labels but " + predicted.length + " predictions");
        }
        if (gold.length == 0) {
            throw new IllegalArgumentException("no examples to score");
        }
        int k = labels.size();
        long[][] confusion = new long[k][k];
        for (int i = 0; i < gold.length; i++) {
            if (gold[i] < 0 || gold[i] >= k || predicted[i] < 0 || predicted[i] >= k) {
                throw new IllegalArgumentException("example " + i + ": gold " + gold[i] + ", predicted " + predicted[i]
                        + ", outside the " + k + " classes " + labels.names());
            }
            confusion[gold[i]][predicted[i]]++;
        }
        return new ClassificationMetrics(labels, confusion);
    }

    /** The classes scored. */
    public LabelSet labels() {
        return labels;
    }

    /** Correct predictions / examples. */
    public double accuracy() {
        return (double) correct / total;
    }

    /** Number of examples scored. */
    public long total() {
        return total;
    }

    /** One entry per class, in label order. */
    public List<ClassMetrics> perClass() {
        return perClass;
    }

    /** Mean precision over all classes. */
    public double macroPrecision() {
        return perClass.stream().mapToDouble(ClassMetrics::precision).average().orElse(0);
    }

    /** Mean recall over all classes. */
    public double macroRecall() {
        return perClass.stream().mapToDouble(ClassMetrics::recall).average().orElse(0);
    }

    /** Mean F1 over all classes (not the F1 of the mean precision and recall). */
    public double macroF1() {
        return perClass.stream().mapToDouble(ClassMetrics::f1).average().orElse(0);
    }

    /** {@code confusion()[gold][predicted]}: how many examples of class gold were predicted as predicted. A copy. */
    public long[][] confusion() {
        long[][] copy = new long[confusion.length][];
        for (int i = 0; i < confusion.length; i++) {
            copy[i] = confusion[i].clone();
        }
        return copy;
    }

    /** One line for each class that was never predicted or has no gold example; empty if none. */
    public List<String> warnings() {
        return warnings;
    }

    /**
     * <code>{"accuracy", "macro_precision", "macro_recall", "macro_f1", "examples",
     * "labels": [...], "per_class": {label: {"precision", "recall", "f1", "support"}},
     * "confusion": [[...]] (rows gold, columns predicted), "warnings": [...]}</code>.
     */
    public ObjectNode toJson() {
        ObjectNode root = MAPPER.createObjectNode();
        root.put("accuracy", accuracy());
        root.put("macro_precision", macroPrecision());
        root.put("macro_recall", macroRecall());
        root.put("macro_f1", macroF1());
        root.put("examples", total);
        ArrayNode names = root.putArray("labels");
        labels.names().forEach(names::add);
        ObjectNode classes = root.putObject("per_class");
        for (ClassMetrics c : perClass) {
            ObjectNode one = classes.putObject(c.label());
            one.put("precision", c.precision());
            one.put("recall", c.recall());
            one.put("f1", c.f1());
            one.put("support", c.support());
        }
        ArrayNode rows = root.putArray("confusion");
        for (long[] row : confusion) {
            ArrayNode r = rows.addArray();
            for (long v : row) {
                r.add(v);
            }
        }
        ArrayNode notes = root.putArray("warnings");
        warnings.forEach(notes::add);
        return root;
    }

    /**
     * The report for a terminal: accuracy, a per-class table with the macro average, the
     * confusion matrix (rows gold, columns predicted) and the warnings, one per line.
     */
    public String renderTable() {
        int width = Math.max("macro avg".length(), labels.names().stream().mapToInt(String::length).max().orElse(0));
        StringBuilder s = new StringBuilder();
        s.append(String.format(Locale.ROOT, "accuracy %.4f (%,d of %,d correct)%n%n", accuracy(), correct, total));
        String row = "%-" + width + "s  %9s  %9s  %9s  %9s%n";
        String numbers = "%-" + width + "s  %9.4f  %9.4f  %9.4f  %,9d%n";
        s.append(String.format(Locale.ROOT, row, "class", "precision", "recall", "f1", "support"));
        for (ClassMetrics c : perClass) {
            s.append(String.format(Locale.ROOT, numbers, c.label(), c.precision(), c.recall(), c.f1(), c.support()));
        }
        s.append(String.format(Locale.ROOT, numbers, "macro avg", macroPrecision(), macroRecall(), macroF1(), total));
        s.append(String.format("%nconfusion matrix (rows gold, columns predicted)%n"));
        int cell = width;
        for (long[] r : confusion) {
            for (long v : r) {
                cell = Math.max(cell, String.format("%,d", v).length());
            }
        }
        s.append(String.format("%-" + width + "s", ""));
        for (String name : labels.names()) {
            s.append("  ").append(String.format("%" + cell + "s", name));
        }
        s.append(System.lineSeparator());
        for (int g = 0; g < confusion.length; g++) {
            s.append(String.format("%-" + width + "s", labels.name(g)));
            for (long v : confusion[g]) {
                s.append("  ").append(String.format("%," + cell + "d", v));
            }
            s.append(System.lineSeparator());
        }
        for (String warning : warnings) {
            s.append(System.lineSeparator()).append("warning: ").append(warning);
        }
        if (!warnings.isEmpty()) {
            s.append(System.lineSeparator());
        }
        return s.toString();
    }
}
