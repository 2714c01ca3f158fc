package io.troupe.data.labelled;

import io.troupe.data.DataException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.stream.IntStream;

/**
 * Seeded, stratified partitions of labelled data: every class keeps (as nearly as whole
 * examples allow) its share in train and in validation.
 *
 * <p>Both methods shuffle each class's examples with one {@link Random} seeded by {@code seed},
 * class by class in label order, so the same data, seed and fraction (or K) always give the same
 * partition. Within train and val the examples keep their file order; the trainer shuffles.
 */
public final class StratifiedSplits {

    private StratifiedSplits() {
    }

    /**
     * Holds out {@code round(n_c * valFraction)} examples of every class {@code c} for
     * validation, but at least one and never all of a class that has two or more (a class with a
     * single example trains).
     *
     * @throws IllegalArgumentException if {@code valFraction} is not strictly between 0 and 1
     */
    public static LabelledSplit split(LabelledData data, double valFraction, long seed) {
        if (!(valFraction > 0 && valFraction < 1)) {
            throw new IllegalArgumentException("valFraction must be > 0 and < 1, got " + valFraction);
        }
        List<List<Integer>> byClass = shuffledByClass(data, seed);
        boolean[] inVal = new boolean[data.size()];
        for (List<Integer> members : byClass) {
            int n = members.size();
            if (n < 2) {
                continue;
            }
            int held = (int) Math.max(1, Math.min(n - 1, Math.round(n * valFraction)));
            for (int i = 0; i < held; i++) {
                inVal[members.get(i)] = true;
            }
        }
        return partition(data, inVal);
    }

    /**
     * K stratified folds: fold {@code f}'s validation set is every K-th example of each
     * shuffled class (dealt on from where the previous class stopped, so fold sizes differ by at
     * most one), and its train set is the rest. Every example is in exactly one fold's validation
     * set.
     *
     * @throws IllegalArgumentException if {@code k < 2}
     * @throws DataException if some class has fewer than {@code k} examples, so some fold could
     *     not validate on it; the message names the class and the fix
     */
    public static List<LabelledSplit> folds(LabelledData data, int k, long seed) throws DataException {
        if (k < 2) {
            throw new IllegalArgumentException("K-fold cross-validation needs k >= 2, got " + k);
        }
        int[] counts = data.classCounts();
        for (int c = 0; c < counts.length; c++) {
            if (counts[c] > 0 && counts[c] < k) {
                throw new DataException("class '" + data.labels().name(c) + "' has " + counts[c] + " examples, fewer than the "
                        + k + " folds; use fewer folds or add examples of that class");
            }
        }
        int[] foldOf = new int[data.size()];
        int next = 0;
        for (List<Integer> members : shuffledByClass(data, seed)) {
            for (int member : members) {
                foldOf[member] = next;
                next = (next + 1) % k;
            }
        }
        List<LabelledSplit> folds = new ArrayList<>(k);
        for (int f = 0; f < k; f++) {
            boolean[] inVal = new boolean[data.size()];
            for (int i = 0; i < foldOf.length; i++) {
                inVal[i] = foldOf[i] == f;
            }
            folds.add(partition(data, inVal));
        }
        return folds;
    }

    private static List<List<Integer>> shuffledByClass(LabelledData data, long seed) {
        List<List<Integer>> byClass = new ArrayList<>();
        for (int c = 0; c < data.labels().size(); c++) {
            byClass.add(new ArrayList<>());
        }
        for (int i = 0; i < data.size(); i++) {
            byClass.get(data.examples().get(i).label()).add(i);
        }
        Random random = new Random(seed);
        for (List<Integer> members : byClass) {
            Collections.shuffle(members, random);
        }
        return byClass;
    }

    private static LabelledSplit partition(LabelledData data, boolean[] inVal) {
        int[] val = IntStream.range(0, inVal.length).filter(i -> inVal[i]).toArray();
        int[] train = IntStream.range(0, inVal.length).filter(i -> !inVal[i]).toArray();
        return new LabelledSplit(data.subset(train), data.subset(val));
    }
}
