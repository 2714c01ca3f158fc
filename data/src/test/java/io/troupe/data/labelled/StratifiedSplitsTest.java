package io.troupe.data.labelled;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.troupe.data.DataException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class StratifiedSplitsTest {

    /** 60 of class a, 30 of b, 10 of c; texts are unique so sets of texts identify examples. */
    private static LabelledData unbalanced() {
        List<LabelledExample> examples = new ArrayList<>();
        int[] counts = {60, 30, 10};
        int n = 0;
        for (int round = 0; round < 60; round++) {
            for (int c = 0; c < 3; c++) {
                if (round < counts[c]) {
                    examples.add(new LabelledExample("t" + n, c, "f:" + (n + 1)));
                    n++;
                }
            }
        }
        return new LabelledData(examples, LabelSet.of("a", "b", "c"), List.of(), List.of(Path.of("f")));
    }

    private static Set<String> texts(LabelledData data) {
        Set<String> texts = new HashSet<>();
        data.examples().forEach(e -> texts.add(e.text()));
        return texts;
    }

    @Test
    void aSplitKeepsEveryClassShareAndIsSeeded() {
        LabelledData data = unbalanced();
        LabelledSplit split = StratifiedSplits.split(data, 0.2, 7);
        assertEquals(List.of(12, 6, 2), toList(split.val().classCounts()));
        assertEquals(List.of(48, 24, 8), toList(split.train().classCounts()));
        Set<String> val = texts(split.val());
        Set<String> train = texts(split.train());
        assertTrue(val.stream().noneMatch(train::contains), "train and val are disjoint");
        assertEquals(100, val.size() + train.size());

        assertEquals(val, texts(StratifiedSplits.split(data, 0.2, 7).val()), "same seed, same split");
        assertNotEquals(val, texts(StratifiedSplits.split(data, 0.2, 8).val()), "another seed, another split");
    }

    @Test
    void aSmallClassKeepsOneExampleOnEachSide() {
        LabelledData data = unbalanced();
        LabelledSplit split = StratifiedSplits.split(data, 0.01, 1);
        assertEquals(List.of(1, 1, 1), toList(split.val().classCounts()), "round(10 * 0.01) = 0, raised to 1");
        assertThrows(IllegalArgumentException.class, () -> StratifiedSplits.split(data, 1.0, 1));
        assertThrows(IllegalArgumentException.class, () -> StratifiedSplits.split(data, 0, 1));
    }

    @Test
    void kFoldsValidateEveryExampleOnceAndKeepProportions() {
        LabelledData data = unbalanced();
        List<LabelledSplit> folds = StratifiedSplits.folds(data, 5, 3);
        assertEquals(5, folds.size());
        Set<String> seen = new HashSet<>();
        for (LabelledSplit fold : folds) {
            assertEquals(List.of(12, 6, 2), toList(fold.val().classCounts()));
            assertEquals(80, fold.train().size());
            Set<String> val = texts(fold.val());
            assertTrue(texts(fold.train()).stream().noneMatch(val::contains));
            for (String t : val) {
                assertTrue(seen.add(t), t + " is in two validation folds");
            }
        }
        assertEquals(100, seen.size(), "every example is validated once");
    }

    @Test
    void foldSizesDifferByAtMostOneWhenClassesDoNotDivide() {
        List<LabelledSplit> folds = StratifiedSplits.folds(unbalanced(), 3, 3);
        List<Integer> sizes = folds.stream().map(f -> f.val().size()).toList();
        assertEquals(100, sizes.stream().mapToInt(Integer::intValue).sum());
        assertTrue(sizes.stream().mapToInt(Integer::intValue).max().orElseThrow()
                - sizes.stream().mapToInt(Integer::intValue).min().orElseThrow() <= 1, sizes.toString());
    }

    @Test
    void moreFoldsThanAClassHasExamplesIsRefused() {
        DataException e = assertThrows(DataException.class, () -> StratifiedSplits.folds(unbalanced(), 11, 1));
        assertEquals("class 'c' has 10 examples, fewer than the 11 folds; use fewer folds or add examples of that class",
                e.getMessage());
    }

    private static List<Integer> toList(int[] values) {
        List<Integer> list = new ArrayList<>();
        for (int v : values) {
            list.add(v);
        }
        return list;
    }
}
