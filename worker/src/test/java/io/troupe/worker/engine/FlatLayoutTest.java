package io.troupe.worker.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class FlatLayoutTest {

    @Test
    void packerPlacesParametersBackToBack() {
        FlatLayout layout = FlatLayout.packer().add("wte", 10, 4).add("ln_f.b", 4).add("scale").build();
        assertEquals(List.of(
                new ParamView("wte", 0, new long[] {10, 4}),
                new ParamView("ln_f.b", 40, new long[] {4}),
                new ParamView("scale", 44, new long[0])), layout.views());
        assertEquals(45, layout.size());
        assertEquals(40, layout.view("ln_f.b").offset());
    }

    @Test
    void gapsAndAnyOrderAreAllowed() {
        FlatLayout layout = new FlatLayout(List.of(
                new ParamView("b", 8, new long[] {2}),
                new ParamView("a", 0, new long[] {4})), 16);
        assertEquals(16, layout.size());
    }

    @Test
    void rejectsOverlapsDuplicatesAndViewsPastTheEnd() {
        assertRejected("overlap", List.of(new ParamView("a", 0, new long[] {4}), new ParamView("b", 3, new long[] {2})), 10);
        assertRejected("appears twice", List.of(new ParamView("a", 0, new long[] {1}), new ParamView("a", 1, new long[] {1})), 10);
        assertRejected("beyond the layout size 5", List.of(new ParamView("a", 2, new long[] {2, 2})), 5);
        assertRejected("layout size must be", List.of(), FlatLayout.MAX_SIZE + 1);
    }

    @Test
    void viewsAreValuesAndCannotBeChangedThroughTheirShape() {
        long[] shape = {2, 3};
        ParamView view = new ParamView("w", 0, shape);
        shape[0] = 99;
        view.shape()[1] = 99;
        assertArrayEquals(new long[] {2, 3}, view.shape());
        assertEquals(new ParamView("w", 0, new long[] {2, 3}), view);
        assertEquals(new ParamView("w", 0, new long[] {2, 3}).hashCode(), view.hashCode());
        assertEquals(6, view.numel());
        assertEquals(6, view.end());
    }

    @Test
    void rejectsBadViews() {
        assertThrows(IllegalArgumentException.class, () -> new ParamView("", 0, new long[] {1}));
        assertThrows(IllegalArgumentException.class, () -> new ParamView("w", -1, new long[] {1}));
        assertThrows(IllegalArgumentException.class, () -> new ParamView("w", 0, new long[] {2, 0}));
        assertThrows(IllegalArgumentException.class, () -> FlatLayout.packer().build().view("missing"));
    }

    private static void assertRejected(String reason, List<ParamView> views, long size) {
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class, () -> new FlatLayout(views, size));
        assertTrue(error.getMessage().contains(reason), "expected '" + reason + "' in: " + error.getMessage());
    }
}
