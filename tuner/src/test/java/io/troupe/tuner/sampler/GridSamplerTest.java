package io.troupe.tuner.sampler;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.troupe.tuner.space.SearchSpace;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class GridSamplerTest {

    @Test
    void enumeratesEveryCombinationExactlyOnceInOdometerOrder() {
        SearchSpace space = SearchSpace.parse("""
                params {
                  bias { type = choice, values = [true, false] }
                  learning_rate { type = log, min = 1e-4, max = 1e-2, grid = 3 }
                  n_layer { type = int, min = 1, max = 3 }
                }
                """);
        GridSampler grid = new GridSampler(space);
        assertEquals(18, grid.size().getAsLong());
        List<Map<String, Object>> points = new ArrayList<>();
        for (int i = 0; i < 18; i++) {
            points.add(grid.sample(i, List.of()));
        }
        assertEquals(18, new HashSet<>(points).size(), "no combination twice");
        Set<Object> layers = new HashSet<>();
        Set<Object> rates = new HashSet<>();
        for (Map<String, Object> p : points) {
            layers.add(p.get("n_layer"));
            rates.add(p.get("learning_rate"));
            assertEquals(List.of("bias", "learning_rate", "n_layer"), List.copyOf(p.keySet()));
        }
        assertEquals(Set.of(1L, 2L, 3L), layers);
        assertEquals(3, rates.size());
        // Log-spaced: 1e-4, 1e-3, 1e-2; the last parameter (in key order) changes fastest.
        assertEquals(1e-4, (double) points.get(0).get("learning_rate"), 1e-12);
        assertEquals(1e-3, (double) points.get(3).get("learning_rate"), 1e-12);
        assertEquals(1e-2, (double) points.get(6).get("learning_rate"), 1e-12);
        assertEquals(Map.of("bias", true, "learning_rate", points.get(0).get("learning_rate"), "n_layer", 1L), points.get(0));
        assertEquals(2L, points.get(1).get("n_layer"));
        assertEquals(3L, points.get(2).get("n_layer"));
        assertEquals(false, points.get(9).get("bias"));
        assertThrows(IllegalArgumentException.class, () -> grid.sample(18, List.of()));
    }

    @Test
    void floatRangesVisitEvenlySpacedValuesWithBothEnds() {
        GridSampler grid = new GridSampler(SearchSpace.parse("params { dropout { type = float, min = 0, max = 0.3, grid = 4 } }"));
        List<Double> values = new ArrayList<>();
        for (int i = 0; i < grid.size().getAsLong(); i++) {
            values.add((Double) grid.sample(i, List.of()).get("dropout"));
        }
        assertEquals(4, values.size());
        for (int i = 0; i < 4; i++) {
            assertEquals(0.1 * i, values.get(i), 1e-12);
        }
    }
}
