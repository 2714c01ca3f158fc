package io.troupe.ops.inference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.FloatBuffer;
import org.junit.jupiter.api.Test;

/** Rows, rooms and held positions of the arena, without a model: 1 layer (2 tensors), 2 heads of 2. */
class KvCacheArenaTest {
    private static final int NH = 2;
    private static final int HS = 2;

    /** present [1, NH, s, HS] whose value at (h, p, d) is base + 100 h + 10 p + d. */
    private static FloatBuffer[] present(int s, float base) {
        FloatBuffer[] present = new FloatBuffer[2];
        for (int t = 0; t < 2; t++) {
            float[] v = new float[NH * s * HS];
            for (int h = 0; h < NH; h++) {
                for (int p = 0; p < s; p++) {
                    for (int d = 0; d < HS; d++) {
                        v[(h * s + p) * HS + d] = base + t * 1000 + 100 * h + 10 * p + d;
                    }
                }
            }
            present[t] = FloatBuffer.wrap(v);
        }
        return present;
    }

    private static float at(KvCacheArena arena, int t, int rows, int row, int h, int p, int d) {
        return arena.pastOf(t, rows).get(((row * NH + h) * arena.room() + p) * HS + d);
    }

    @Test
    void heldPositionsSurviveGrowingAndShrinkingTheRoomInPlaceAndInNewBuffers() {
        KvCacheArena arena = new KvCacheArena(1, NH, HS, 300);
        arena.ensure(2, 3, 0, 8);
        assertEquals(64, arena.room());
        arena.fill(0, present(3, 0), 0, 3, 3);
        arena.fill(1, present(2, 5000), 0, 2, 2);
        arena.ensure(2, 65, 2, 8);       // outgrows 64: new, larger buffers
        assertEquals(128, arena.room());
        arena.shrinkTo(3, 2);            // a quarter or less: in place
        assertEquals(64, arena.room());
        arena.ensure(2, 100, 2, 8);      // grows again inside the buffers of 128
        assertEquals(128, arena.room());
        for (int t = 0; t < 2; t++) {
            for (int h = 0; h < NH; h++) {
                for (int p = 0; p < 3; p++) {
                    assertEquals(t * 1000 + 100 * h + 10 * p + 1, at(arena, t, 2, 0, h, p, 1), "row 0 " + t + h + p);
                }
                for (int p = 0; p < 2; p++) {
                    assertEquals(5000 + t * 1000 + 100 * h + 10 * p, at(arena, t, 2, 1, h, p, 0), "row 1 " + t + h + p);
                }
            }
        }
        assertTrue(arena.holds(0, 2) && !arena.holds(0, 3) && arena.holds(1, 1) && !arena.holds(1, 2));
        assertEquals(4, arena.relayouts());
    }

    @Test
    void onceAValueWasNotFiniteThePositionsASequenceIsHandedAreZeroed() {
        KvCacheArena arena = new KvCacheArena(1, NH, HS, 64);
        arena.ensure(2, 4, 0, 2);
        FloatBuffer[] poisoned = present(4, Float.NaN);
        arena.fill(0, poisoned, 0, 4, 4);   // a sequence whose keys and values are NaN
        arena.copyRow(0, 1);                // it leaves row 1 full of NaN (a release moves rows like this)
        arena.fill(1, present(1, 0), 0, 1, 1); // the next sequence holds 1 position of row 1
        for (int t = 0; t < 2; t++) {
            for (int h = 0; h < NH; h++) {
                assertEquals(100 * h + t * 1000, at(arena, t, 2, 1, h, 0, 0));
                for (int p = 1; p < arena.room(); p++) {
                    assertEquals(0f, at(arena, t, 2, 1, h, p, 0), "row 1, head " + h + ", position " + p);
                }
            }
        }
        assertFalse(arena.holds(1, 1));
    }
}
