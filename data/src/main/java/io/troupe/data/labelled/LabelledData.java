package io.troupe.data.labelled;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Labelled examples read from one or more files, with their label set and the rows that were
 * refused.
 *
 * @param examples the usable rows, in file order; each label indexes {@link #labels()}
 * @param labels the classes
 * @param badRows every refused row, named by file and line (never more than the reader's
 *     {@code maxBadRows})
 * @param files the files read, in order
 */
public record LabelledData(List<LabelledExample> examples, LabelSet labels, List<BadRow> badRows, List<Path> files) {

    /** Copies the lists and checks every label index fits the label set. */
    public LabelledData {
        examples = List.copyOf(examples);
        badRows = List.copyOf(badRows);
        files = List.copyOf(files);
        for (LabelledExample e : examples) {
            if (e.label() >= labels.size()) {
                throw new IllegalArgumentException("label index " + e.label() + " of " + e.origin()
                        + " is outside the label set " + labels);
            }
        }
    }

    /** Number of examples. */
    public int size() {
        return examples.size();
    }

    /** How many examples each class has, indexed by class. */
    public int[] classCounts() {
        int[] counts = new int[labels.size()];
        for (LabelledExample e : examples) {
            counts[e.label()]++;
        }
        return counts;
    }

    /** The label index of every example, in order. */
    public int[] labelIndices() {
        return examples.stream().mapToInt(LabelledExample::label).toArray();
    }

    /** The examples at {@code indices}, in that order, with the same label set and no bad rows or files. */
    public LabelledData subset(int[] indices) {
        List<LabelledExample> picked = new ArrayList<>(indices.length);
        for (int i : indices) {
            picked.add(examples.get(i));
        }
        return new LabelledData(picked, labels, List.of(), files);
    }

    /** e.g. "3,000 examples, 2 classes (0: 1,500, 1: 1,500), 0 bad rows". */
    public String describe() {
        int[] counts = classCounts();
        StringBuilder s = new StringBuilder(String.format("%,d examples, %d classes (", size(), labels.size()));
        for (int c = 0; c < counts.length; c++) {
            s.append(c == 0 ? "" : ", ").append(labels.name(c)).append(String.format(": %,d", counts[c]));
        }
        return s.append(String.format("), %,d bad rows", badRows.size())).toString();
    }
}
