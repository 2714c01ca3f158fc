package io.troupe.ops.inference;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;

/**
 * The keys and values of every open sequence, kept where a decode step reads them: per tensor t
 * (layer * 2 + key|value) one direct buffer [rows, NH, room, HS], a sequence owning one row, and
 * an additive bias [rows, room] that is 0 at the positions a row holds and -inf elsewhere.
 *
 * <p>The first B rows of each buffer are themselves a [B, NH, room, HS] tensor, so a step over
 * rows 0..B-1 hands ORT the arena as it is (a direct buffer is read in place): nothing is
 * copied per step except each row's one new position. Rows are moved only when a sequence
 * leaves (the last row fills its place) or a step runs a subset of the rows; the room is re-laid
 * out only when the longest sequence outgrows it, or shrinks to a quarter of it, and inside the
 * same buffers unless they must grow.
 *
 * <p>Positions a row does not hold are zero or stale keys and values: their attention weight is
 * exactly 0, and 0 times a finite number is 0. Times NaN it would not be, so once a model has
 * produced a non-finite key or value, positions handed to a sequence are zeroed first.
 */
final class KvCacheArena {
    /** The room grows and shrinks in multiples of this many positions. */
    static final int ROOM_STEP = 64;

    private final int tensors;
    private final int nHead;
    private final int headSize;
    private final int blockSize;
    private FloatBuffer[] kv;
    private FloatBuffer bias;
    private int rows;
    private int room;
    private long relayouts;
    /**
     * Set once a non-finite key or value was stored. Until then every position a row does not
     * hold is zero or another row's finite value; after it, the positions a prefill or a growing
     * room hands to a sequence are zeroed first, so one sequence's NaN cannot reach another's
     * attention through a weight of 0.
     */
    private boolean sawNonFinite;

    KvCacheArena(int nLayer, int nHead, int headSize, int blockSize) {
        this.tensors = 2 * nLayer;
        this.nHead = nHead;
        this.headSize = headSize;
        this.blockSize = blockSize;
        this.kv = new FloatBuffer[tensors];
    }

    /** Positions each row has room for (the past length T a step sees). */
    int room() {
        return room;
    }

    /** Times the rows were laid out again (room grown or shrunk, rows added), for tests and diagnostics. */
    long relayouts() {
        return relayouts;
    }

    /**
     * Makes room for at least {@code neededRows} rows of at least {@code neededRoom} positions,
     * keeping the first {@code usedRows} rows' contents. Rows double and the room grows by half
     * (in {@link #ROOM_STEP}s, capped at the block), so that growing costs O(1) copies per position.
     */
    void ensure(int neededRows, int neededRoom, int usedRows, int maxRows) {
        if (neededRows <= rows && neededRoom <= room) {
            return;
        }
        int newRows = neededRows <= rows ? rows : Math.min(maxRows, Math.max(neededRows, Math.max(4, 2 * rows)));
        int newRoom = neededRoom <= room ? room : roundRoom(Math.max(neededRoom, room + room / 2));
        relayout(newRows, newRoom, usedRows);
    }

    /** Shrinks the room to twice {@code longest} (in steps) when that is at most a quarter of it. */
    void shrinkTo(int longest, int usedRows) {
        int wanted = roundRoom(2 * Math.max(1, longest));
        if (room > ROOM_STEP && 2 * wanted <= room) {
            relayout(rows, wanted, usedRows);
        }
    }

    private int roundRoom(int positions) {
        int rounded = (int) Math.min(blockSize, ((long) positions + ROOM_STEP - 1) / ROOM_STEP * ROOM_STEP);
        return Math.max(rounded, Math.min(positions, blockSize));
    }

    /**
     * Lays the first {@code usedRows} rows out again with {@code newRoom} positions each. The
     * buffers never shrink: when they hold the new layout, the rows move inside them (each run of
     * a row's head through a scratch array, so a run's old and new places may overlap: upwards
     * for a smaller room, downwards for a larger one), and fresh memory is touched only when the
     * arena grows past its largest size so far.
     */
    private void relayout(int newRows, int newRoom, int usedRows) {
        relayouts++;
        long floats = (long) newRows * nHead * newRoom * headSize;
        boolean inPlace = kv[0] != null && kv[0].capacity() >= floats && bias.capacity() >= newRows * newRoom;
        FloatBuffer[] target = inPlace ? kv : new FloatBuffer[tensors];
        int keep = Math.min(room, newRoom);
        float[] run = new float[keep * headSize];
        int runs = usedRows * nHead;
        for (int t = 0; t < tensors; t++) {
            if (!inPlace) {
                target[t] = allocate(floats);
            }
            for (int k = 0; k < runs; k++) {
                int i = newRoom <= room ? k : runs - 1 - k;
                kv[t].get(i * room * headSize, run);
                target[t].put(i * newRoom * headSize, run);
                if (sawNonFinite && newRoom > keep) {
                    zero(target[t], (i * newRoom + keep) * headSize, (newRoom - keep) * headSize);
                }
            }
        }
        float[] keptBias = new float[usedRows * keep];
        for (int r = 0; r < usedRows; r++) {
            bias.get(r * room, keptBias, r * keep, keep);
        }
        FloatBuffer newBias = inPlace ? bias : allocate((long) newRows * newRoom);
        for (int i = 0; i < newRows * newRoom; i++) {
            newBias.put(i, Float.NEGATIVE_INFINITY);
        }
        for (int r = 0; r < usedRows; r++) {
            newBias.put(r * newRoom, keptBias, r * keep, keep);
        }
        kv = target;
        bias = newBias;
        rows = newRows;
        room = newRoom;
    }

    private static void zero(FloatBuffer buffer, int from, int floats) {
        for (int i = from; i < from + floats; i++) {
            buffer.put(i, 0f);
        }
    }

    /** True when every value of {@code buffer}[from, from + floats) is finite. */
    private static boolean finite(FloatBuffer buffer, int from, int floats) {
        float acc = 0;
        for (int i = from; i < from + floats; i++) {
            acc += buffer.get(i) * 0f; // NaN once any value is NaN or infinite
        }
        return acc == 0f;
    }

    private static FloatBuffer allocate(long floats) {
        if (floats > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("a KV-cache arena of " + floats + " floats per tensor is too large for one buffer");
        }
        return ByteBuffer.allocateDirect((int) floats * Float.BYTES).order(ByteOrder.nativeOrder()).asFloatBuffer();
    }

    /** Tensor t's first {@code b} rows, exactly [b, NH, room, HS] floats. */
    FloatBuffer pastOf(int t, int b) {
        return exactly(kv[t], b * nHead * room * headSize);
    }

    /** The bias of the first {@code b} rows, exactly [b, room] floats. */
    FloatBuffer biasOf(int b) {
        return exactly(bias, b * room);
    }

    /** Copies the first {@code p} positions of rows 0..b-1 of tensor t into {@code into}, [b, NH, p, HS]. */
    void copyPast(int t, int b, int p, FloatBuffer into) {
        for (int r = 0; r < b; r++) {
            for (int h = 0; h < nHead; h++) {
                into.put(((r * nHead + h) * p) * headSize, kv[t], ((r * nHead + h) * room) * headSize, p * headSize);
            }
        }
    }

    /** True when row {@code row} holds position {@code position}. */
    boolean holds(int row, int position) {
        return bias.get(row * room + position) == 0f;
    }

    private static FloatBuffer exactly(FloatBuffer space, int floats) {
        return space.duplicate().position(0).limit(floats).slice();
    }

    /**
     * Stores a prefill's keys and values as row {@code row}'s positions 0..n-1 (and holds nothing
     * after them): {@code present} of tensor t is [?, NH, s, HS], this row's block at index {@code at}.
     */
    void fill(int row, FloatBuffer[] present, int at, int s, int n) {
        for (int t = 0; t < tensors; t++) {
            for (int h = 0; h < nHead; h++) {
                int start = ((row * nHead + h) * room) * headSize;
                kv[t].put(start, present[t], ((at * nHead + h) * s) * headSize, n * headSize);
                sawNonFinite |= !finite(kv[t], start, n * headSize);
                if (sawNonFinite) {
                    zero(kv[t], start + n * headSize, (room - n) * headSize);
                }
            }
        }
        for (int p = 0; p < room; p++) {
            bias.put(row * room + p, p < n ? 0f : Float.NEGATIVE_INFINITY);
        }
    }

    /**
     * Appends one position to row {@code row}: head h's HS values of tensor t come from
     * {@code source[t]} at {@code start + h * headStride}.
     */
    void append(int row, int position, FloatBuffer[] source, int start, int headStride) {
        for (int t = 0; t < tensors; t++) {
            for (int h = 0; h < nHead; h++) {
                int at = ((row * nHead + h) * room + position) * headSize;
                kv[t].put(at, source[t], start + h * headStride, headSize);
                sawNonFinite |= !finite(kv[t], at, headSize);
            }
        }
        bias.put(row * room + position, 0f);
    }

    /** Copies row {@code from} over row {@code to}. */
    void copyRow(int from, int to) {
        int floats = nHead * room * headSize;
        for (int t = 0; t < tensors; t++) {
            kv[t].put(to * floats, kv[t], from * floats, floats);
        }
        bias.put(to * room, bias, from * room, room);
    }

    /** Exchanges rows {@code a} and {@code b}. */
    void swapRows(int a, int b) {
        int floats = nHead * room * headSize;
        float[] held = new float[floats];
        for (int t = 0; t < tensors; t++) {
            kv[t].get(a * floats, held);
            kv[t].put(a * floats, kv[t], b * floats, floats);
            kv[t].put(b * floats, held);
        }
        float[] heldBias = new float[room];
        bias.get(a * room, heldBias);
        bias.put(a * room, bias, b * room, room);
        bias.put(b * room, heldBias);
    }
}
