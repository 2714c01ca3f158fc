package io.troupe.worker.stats;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;

class MedianTest {
    @Test
    void oddCountsTakeTheMiddleEvenCountsTheMeanOfTheTwoMiddleValues() {
        double[] values = {5, 1, 4};
        assertEquals(4, Median.of(values));
        assertArrayEquals(new double[] {5, 1, 4}, values, "the input is not sorted in place");
        assertEquals(2.5, Median.of(4, 1, 3, 2));
        assertEquals(7, Median.of(7));
        assertEquals(1.5, Median.of(List.of(2.0, 1.0)));
        assertThrows(IllegalArgumentException.class, Median::of);
    }
}
