package io.troupe.ops.inference;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtLoggingLevel;
import ai.onnxruntime.OrtSession;
import io.troupe.data.DataException;
import io.troupe.model.gpt.KvCacheGraphs;
import io.troupe.model.gpt.KvCacheStepGraph;
import io.troupe.worker.engine.OrtSessions;
import io.troupe.worker.run.ModelExport;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * A {@link BatchDecoder} over the exported KV-cache decoders: each sequence's keys and values
 * stay in a {@link KvCacheArena} row, so a step runs one new token per sequence instead of the
 * whole context.
 *
 * <p><b>Two graphs.</b> Prefills run {@code decoder.onnx} ({@link KvCacheGraphs}, the Hugging
 * Face interface) with an empty past. Decode steps run {@code decoder_step.onnx}
 * ({@link KvCacheStepGraph}), which reads the arena in place and returns only the new position's
 * keys and values. An export made before that graph existed decodes with {@code decoder.onnx}
 * too, feeding the arena as its past; its {@code present} output then copies every row's past
 * once per step (slower, the same tokens; {@link BatchDecoders} says so once).
 *
 * <p><b>Memory.</b> A slot's cache holds up to block_size positions of every layer's keys and
 * values (n_layer x 2 x block_size x n_embd floats); {@link #capacity()} is how many such full
 * caches fit in the budget given to {@link #open}. The arena allocates rows and room as
 * sequences need them (see {@link KvCacheArena}), never more than the capacity's rows of a block.
 *
 * <p><b>Joining.</b> {@link #openAll} runs the prefills of sequences that join together in one
 * batched run: prompts padded on the right to the longest of a group and masked, each row's
 * logits read at its own last token. Prompts of very different lengths go in different groups,
 * so padding never costs more than the real tokens.
 *
 * <p><b>Rows.</b> The open sequences hold rows 0..n-1. A step over all of them passes the arena's
 * first n rows as they are; a step over some of them first swaps those to the front. A sequence
 * that leaves gives its row to the last one.
 *
 * <p><b>Past the context.</b> Once a sequence holds block_size tokens, the window slides: the
 * next step re-runs the last block_size tokens (the oldest dropped) from position 0, exactly what
 * uncached generation feeds, so cached and uncached generation give the same tokens at any length;
 * such a step costs a full forward pass, as it does uncached.
 *
 * <p>Not thread-safe, as {@link BatchDecoder} says.
 */
public final class KvCacheDecoder implements BatchDecoder {
    /** System property that lets ORT's idle intra-op threads spin (its default), for comparisons. */
    public static final String SPIN_PROPERTY = "troupe.decoder.spin";

    /** Default KV-cache budget: 1 GiB. */
    public static final long DEFAULT_BUDGET_BYTES = 1L << 30;

    private final OrtEnvironment env;
    /** decoder.onnx: every prefill, and the steps when there is no step graph. */
    private final OrtSession session;
    /** decoder_step.onnx, or null for an export without it. */
    private final OrtSession stepSession;
    private final int nLayer;
    private final int nHead;
    private final int headSize;
    private final int blockSize;
    private final int vocabSize;
    private final int capacity;
    /** The open sequences by row: rows.get(r).row == r. */
    private final List<CachedSlot> rows = new ArrayList<>();
    private final KvCacheArena arena;
    /** Reused direct buffers for outputs: a prefill's (or fallback step's) present per tensor, the new keys/values, the logits. */
    private final FloatBuffer[] presentSpace;
    private final FloatBuffer[] newSpace;
    /** The padded past per tensor when decoder.onnx steps (an export without the step graph). */
    private final FloatBuffer[] paddedPastSpace;
    /** Decode steps run by the step graph, reading the arena in place (for tests and diagnostics). */
    private long inPlaceSteps;
    private FloatBuffer logitsSpace;
    /**
     * Direct scratch for the long inputs (ids, positions, mask), reused by every run: ORT reads a
     * direct buffer in place, while a heap array costs a fresh direct copy per tensor.
     */
    private final LongBuffer[] longSpace = new LongBuffer[3];

    private KvCacheDecoder(OrtEnvironment env, OrtSession session, OrtSession stepSession, int nLayer, int nHead,
                           int nEmbd, int blockSize, int vocabSize, long budgetBytes, int maxSlots) {
        this.env = env;
        this.session = session;
        this.stepSession = stepSession;
        this.nLayer = nLayer;
        this.nHead = nHead;
        this.headSize = nEmbd / nHead;
        this.blockSize = blockSize;
        this.vocabSize = vocabSize;
        long perSlot = bytesPerSlot(nLayer, nEmbd, blockSize);
        long slots = budgetBytes / perSlot;
        if (slots < 1) {
            throw new IllegalArgumentException("a KV-cache budget of " + mib(budgetBytes) + " MiB holds no sequence: one takes "
                    + mib(perSlot) + " MiB (n_layer x 2 x block_size x n_embd floats)");
        }
        this.capacity = (int) Math.min(Math.min(slots, 1 << 20), maxSlots);
        this.arena = new KvCacheArena(nLayer, nHead, headSize, blockSize);
        this.presentSpace = new FloatBuffer[2 * nLayer];
        this.newSpace = new FloatBuffer[2 * nLayer];
        this.paddedPastSpace = new FloatBuffer[2 * nLayer];
    }

    private static String mib(long bytes) {
        return String.format(java.util.Locale.ROOT, "%.1f", bytes / (1024.0 * 1024.0));
    }

    /** Bytes one sequence's cache takes: keys and values of every layer for block_size positions. */
    public static long bytesPerSlot(int nLayer, int nEmbd, int blockSize) {
        return 2L * nLayer * nEmbd * blockSize * Float.BYTES;
    }

    /** True when {@code dir} holds the decoder graph. */
    public static boolean available(Path dir) {
        return Files.isRegularFile(dir.resolve(ModelExport.DECODER_FILE_NAME));
    }

    /**
     * Opens {@code dir/decoder.onnx}.
     *
     * @param budgetBytes memory for the slots' caches; decides {@link #capacity()}
     * @throws DataException when the file is missing, not loadable or not a Troupe language-model decoder
     */
    public static KvCacheDecoder open(Path dir, int threads, long budgetBytes) throws DataException {
        return open(dir, threads, budgetBytes, Integer.MAX_VALUE);
    }

    /**
     * Opens {@code dir/decoder.onnx}, and {@code dir/decoder_step.onnx} when the export has it,
     * holding at most {@code maxSlots} sequences, fewer when the budget holds fewer caches.
     *
     * @throws DataException when the file is missing, not loadable or not a Troupe language-model decoder
     * @throws IllegalArgumentException when the budget holds no sequence
     */
    public static KvCacheDecoder open(Path dir, int threads, long budgetBytes, int maxSlots) throws DataException {
        return open(dir, threads, budgetBytes, maxSlots, true);
    }

    /** True when {@code dir} holds the decode step graph ({@code decoder_step.onnx}) as well. */
    public static boolean hasStepGraph(Path dir) {
        return Files.isRegularFile(dir.resolve(ModelExport.DECODER_STEP_FILE_NAME));
    }

    /**
     * As {@link #open(Path, int, long, int)}; with {@code useStepGraph} false the steps run
     * {@code decoder.onnx} even when the step graph is there (to compare the two).
     */
    public static KvCacheDecoder open(Path dir, int threads, long budgetBytes, int maxSlots, boolean useStepGraph)
            throws DataException {
        if (maxSlots < 1) {
            throw new IllegalArgumentException("a decoder holds at least one sequence, got " + maxSlots);
        }
        Path file = dir.resolve(ModelExport.DECODER_FILE_NAME);
        if (!Files.isRegularFile(file)) {
            throw new DataException(file + " does not exist: the model was exported before KV-cache inference; "
                    + "re-export it with 'troupe export --run RUN_DIR --out " + dir + " --force'");
        }
        OrtEnvironment env = OrtSessions.environment();
        OrtSession session = null;
        OrtSession stepSession = null;
        Path current = file;
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            options.setIntraOpNumThreads(threads);
            options.setSessionLogLevel(OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR);
            options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            // Idle intra-op threads spin for a while by default, waiting for the next parallel
            // section. A server shares its cores with the HTTP threads that carry the tokens, and a
            // spinning thread takes their CPU; -Dtroupe.decoder.spin=true restores ORT's default.
            options.addConfigEntry("session.intra_op.allow_spinning", Boolean.getBoolean(SPIN_PROPERTY) ? "1" : "0");
            session = env.createSession(file.toString(), options);
            int[] shape = shapeOf(file, session);
            Path stepFile = dir.resolve(ModelExport.DECODER_STEP_FILE_NAME);
            if (useStepGraph && Files.isRegularFile(stepFile)) {
                current = stepFile;
                stepSession = env.createSession(stepFile.toString(), options);
                String weights = session.getMetadata().getCustomMetadata().get(ModelExport.WEIGHTS_CHECKSUM);
                String stepWeights = stepSession.getMetadata().getCustomMetadata().get(ModelExport.WEIGHTS_CHECKSUM);
                if (!Arrays.equals(shape, shapeOf(stepFile, stepSession)) || !Objects.equals(weights, stepWeights)) {
                    throw new DataException(stepFile + " does not match " + file + " (another model's weights or shape); "
                            + "re-export the model with 'troupe export --run RUN_DIR --out " + dir
                            + " --force'");
                }
            }
            return new KvCacheDecoder(env, session, stepSession, shape[2], shape[3], shape[4], shape[0], shape[1],
                    budgetBytes, maxSlots);
        } catch (OrtException | NumberFormatException e) {
            closeQuietly(session);
            closeQuietly(stepSession);
            throw new DataException(current + " is not a loadable Troupe decoder: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            closeQuietly(session);
            closeQuietly(stepSession);
            throw e;
        }
    }

    /** block_size, vocab_size, n_layer, n_head and n_embd from a decoder's metadata. */
    private static int[] shapeOf(Path file, OrtSession session) throws OrtException {
        Map<String, String> meta = session.getMetadata().getCustomMetadata();
        ExportedModel.requireLanguageModel(file, meta);
        int[] shape = new int[5];
        String[] keys = {ModelExport.BLOCK_SIZE, ModelExport.VOCAB_SIZE, "troupe.n_layer", "troupe.n_head", "troupe.n_embd"};
        for (int i = 0; i < keys.length; i++) {
            String value = meta.get(keys[i]);
            if (value == null) {
                throw new DataException(file + " has no Troupe metadata (" + keys[i] + "); re-export it with 'troupe export'");
            }
            shape[i] = Integer.parseInt(value);
        }
        return shape;
    }

    private static void closeQuietly(OrtSession session) {
        if (session != null) {
            try {
                session.close();
            } catch (OrtException ignored) {
                // Already failing; the original error is the one to report.
            }
        }
    }

    @Override
    public int vocabSize() {
        return vocabSize;
    }

    @Override
    public int blockSize() {
        return blockSize;
    }

    @Override
    public int capacity() {
        return capacity;
    }

    @Override
    public int openSlots() {
        return rows.size();
    }

    /** A sequence: its arena row, and the tokens whose keys and values the row holds. */
    private final class CachedSlot implements Slot {
        /** Its row in the arena (and in {@link #rows}). */
        int row;
        /** The tokens whose keys and values the row holds, oldest first: the model's window. */
        final int[] window = new int[blockSize];
        int cached;
        int length;

        @Override
        public int length() {
            return length;
        }
    }

    /** Starts one sequence; see {@link #openAll} to batch the prefills. */
    @Override
    public Opened open(int[] prompt) throws OrtException {
        return openAll(List.of(new Start(prompt, blockSize))).get(0);
    }

    /**
     * Starts the sequences and runs their prefills in batched runs: sorted by length, a group
     * takes prompts down to half its longest, up to {@link #PREFILL_TOKENS} padded tokens per run.
     */
    @Override
    public List<Opened> openAll(List<Start> starts) throws OrtException {
        for (Start start : starts) {
            if (start.prompt().length == 0) {
                throw new IllegalArgumentException("a sequence starts from at least one token");
            }
        }
        if (rows.size() >= capacity) {
            throw new IllegalStateException("all " + capacity + " KV-cache slots are held; release one first");
        }
        if (rows.size() + starts.size() > capacity) {
            throw new IllegalStateException(starts.size() + " sequences do not fit: " + rows.size() + " of " + capacity
                    + " KV-cache slots are held; release some first");
        }
        CachedSlot[] slots = new CachedSlot[starts.size()];
        float[][] logits = new float[starts.size()][];
        try {
            int longest = 0;
            for (int i = 0; i < slots.length; i++) {
                int[] prompt = starts.get(i).prompt();
                int n = Math.min(prompt.length, blockSize);
                slots[i] = new CachedSlot();
                System.arraycopy(prompt, prompt.length - n, slots[i].window, 0, n);
                slots[i].cached = n; // what the prefill will hold
                slots[i].length = prompt.length;
                longest = Math.max(longest, n);
            }
            arena.ensure(rows.size() + slots.length, Math.min(blockSize, longest + 1), rows.size(), capacity);
            for (CachedSlot slot : slots) {
                slot.row = rows.size();
                rows.add(slot);
            }
            Integer[] order = new Integer[slots.length];
            for (int i = 0; i < order.length; i++) {
                order[i] = i;
            }
            Arrays.sort(order, (a, b) -> Integer.compare(slots[b].cached, slots[a].cached)); // longest first
            for (int from = 0; from < order.length; ) {
                int groupLongest = slots[order[from]].cached;
                int to = from + 1;
                while (to < order.length && 2 * slots[order[to]].cached >= groupLongest
                        && (long) (to - from + 1) * groupLongest <= Math.max(PREFILL_TOKENS, groupLongest)) {
                    to++;
                }
                List<CachedSlot> group = new ArrayList<>();
                for (int k = from; k < to; k++) {
                    group.add(slots[order[k]]);
                }
                float[][] groupLogits = prefill(group);
                for (int k = from; k < to; k++) {
                    logits[order[k]] = groupLogits[k - from];
                }
                from = to;
            }
        } catch (OrtException | RuntimeException | Error e) {
            for (CachedSlot slot : slots) {
                if (slot != null) {
                    release(slot);
                }
            }
            throw e;
        }
        List<Opened> opened = new ArrayList<>(slots.length);
        for (int i = 0; i < slots.length; i++) {
            opened.add(new Opened(slots[i], logits[i]));
        }
        return opened;
    }

    /** Most padded tokens (batch x longest prompt) of one batched prefill run, bounding its activations. */
    static final int PREFILL_TOKENS = 2048;

    @Override
    public float[][] step(List<Slot> slots, int[] tokens) throws OrtException {
        if (slots.size() != tokens.length) {
            throw new IllegalArgumentException(slots.size() + " slots but " + tokens.length + " tokens");
        }
        float[][] logits = new float[slots.size()][];
        Set<CachedSlot> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        for (int i = 0; i < slots.size(); i++) {
            CachedSlot slot = owned(slots.get(i));
            if (!seen.add(slot)) {
                throw new IllegalArgumentException("slot " + i + " appears twice in one step");
            }
            if (tokens[i] < 0 || tokens[i] >= vocabSize) {
                throw new IllegalArgumentException("token " + tokens[i] + " is outside the vocabulary [0, " + vocabSize + ")");
            }
        }
        List<CachedSlot> batch = new ArrayList<>(slots.size());
        int longest = 0;
        for (int i = 0; i < slots.size(); i++) {
            CachedSlot slot = (CachedSlot) slots.get(i);
            slot.length++;
            if (slot.cached == blockSize) {
                // The window is full: slide it by one and recompute it from position 0.
                System.arraycopy(slot.window, 1, slot.window, 0, blockSize - 1);
                slot.window[blockSize - 1] = tokens[i];
                logits[i] = prefill(List.of(slot))[0];
            } else {
                slot.window[slot.cached] = tokens[i];
                batch.add(slot);
                longest = Math.max(longest, slot.cached);
            }
        }
        if (!batch.isEmpty()) {
            arena.ensure(rows.size(), longest + 1, rows.size(), capacity);
            toFront(batch);
            float[][] decoded = stepSession != null ? decodeInPlace(batch.size()) : decodeWithPresent(batch.size());
            for (int i = 0; i < slots.size(); i++) {
                CachedSlot slot = (CachedSlot) slots.get(i);
                if (logits[i] == null) {
                    logits[i] = decoded[slot.row];
                }
            }
        }
        return logits;
    }

    /** Moves the batch's slots to rows 0..B-1 (nothing to do when it is every open slot). */
    private void toFront(List<CachedSlot> batch) {
        int b = batch.size();
        if (b == rows.size()) {
            return;
        }
        Set<CachedSlot> wanted = Collections.newSetFromMap(new IdentityHashMap<>());
        wanted.addAll(batch);
        List<CachedSlot> behind = new ArrayList<>();
        for (CachedSlot slot : batch) {
            if (slot.row >= b) {
                behind.add(slot);
            }
        }
        for (int r = 0; r < b; r++) {
            if (!wanted.contains(rows.get(r))) {
                swap(r, behind.remove(behind.size() - 1).row);
            }
        }
    }

    private void swap(int a, int b) {
        arena.swapRows(a, b);
        CachedSlot atA = rows.get(a);
        CachedSlot atB = rows.get(b);
        rows.set(a, atB);
        rows.set(b, atA);
        atA.row = b;
        atB.row = a;
    }

    private CachedSlot owned(Slot slot) {
        if (!(slot instanceof CachedSlot cached) || cached.row >= rows.size() || rows.get(cached.row) != cached) {
            throw new IllegalArgumentException("the slot is not open in this decoder (released, or from another one)");
        }
        return cached;
    }

    @Override
    public void release(Slot slot) {
        if (slot instanceof CachedSlot cached && cached.row < rows.size() && rows.get(cached.row) == cached) {
            int last = rows.size() - 1;
            if (cached.row != last) {
                CachedSlot moved = rows.get(last);
                arena.copyRow(last, cached.row);
                rows.set(cached.row, moved);
                moved.row = cached.row;
            }
            rows.remove(last);
            cached.row = Integer.MAX_VALUE;
            int longest = 0;
            for (CachedSlot open : rows) {
                longest = Math.max(longest, open.cached + 1);
            }
            arena.shrinkTo(longest, rows.size());
        }
    }

    /** Decode steps run by the step graph (for tests and diagnostics). */
    long inPlaceSteps() {
        return inPlaceSteps;
    }

    /** Times the arena's rows were laid out again (for tests and diagnostics). */
    long arenaRelayouts() {
        return arena.relayouts();
    }

    /** Positions per row in the arena: the past length a step reads (for tests and diagnostics). */
    int arenaRoom() {
        return arena.room();
    }

    /**
     * Runs the first {@code cached} tokens of each slot's window with an empty past, in one run
     * padded on the right to the longest (the padding masked, and after every real token, so no
     * real token attends to it), stores each slot's keys and values in its arena row, and returns
     * the logits [B][V] after each slot's last token.
     */
    private float[][] prefill(List<CachedSlot> group) throws OrtException {
        int b = group.size();
        int s = 0;
        for (CachedSlot slot : group) {
            s = Math.max(s, slot.cached);
        }
        long[] ids = new long[b * s];     // [B, S]
        long[] positions = new long[b * s];
        long[] mask = new long[b * s];
        for (int i = 0; i < b; i++) {
            CachedSlot slot = group.get(i);
            for (int j = 0; j < s; j++) {
                // Padding repeats position j with token 0: any valid input, since nothing real attends to it.
                ids[i * s + j] = j < slot.cached ? slot.window[j] : 0;
                positions[i * s + j] = j;
                mask[i * s + j] = j < slot.cached ? 1 : 0;
            }
        }
        arena.ensure(rows.size(), Math.min(blockSize, s + 1), rows.size(), capacity);
        try (Run run = new Run()) {
            Map<String, OnnxTensor> inputs = new HashMap<>();
            Map<String, OnnxTensor> outputs = new HashMap<>();
            inputs.put(KvCacheGraphs.INPUT_IDS, run.longs(0, ids, b, s));
            inputs.put(KvCacheGraphs.POSITION_IDS, run.longs(1, positions, b, s));
            inputs.put(KvCacheGraphs.ATTENTION_MASK, run.longs(2, mask, b, s));
            FloatBuffer empty = ByteBuffer.allocateDirect(0).order(ByteOrder.nativeOrder()).asFloatBuffer();
            FloatBuffer[] present = presentOutputs(run, outputs, b, s, new long[] {b, nHead, s, headSize});
            for (int layer = 0; layer < nLayer; layer++) {
                inputs.put(KvCacheGraphs.pastKey(layer), run.floats(empty, b, nHead, 0, headSize));
                inputs.put(KvCacheGraphs.pastValue(layer), run.floats(empty, b, nHead, 0, headSize));
            }
            FloatBuffer out = logitsOutput(run, outputs, b * s, KvCacheGraphs.LOGITS, b, s, vocabSize); // [B, S, V]
            session.run(inputs, outputs).close();
            float[][] logits = new float[b][vocabSize];
            for (int i = 0; i < b; i++) {
                CachedSlot slot = group.get(i);
                arena.fill(slot.row, present, i, s, slot.cached);
                out.get((i * s + slot.cached - 1) * vocabSize, logits[i]);
            }
            return logits;
        }
    }

    /**
     * One step of rows 0..B-1 with the step graph: the arena is the past as it stands, and the
     * new keys and values [B, C] are appended to each row. Returns logits [B][V] by row.
     */
    private float[][] decodeInPlace(int b) throws OrtException {
        int room = arena.room();
        try (Run run = new Run()) {
            Map<String, OnnxTensor> inputs = new HashMap<>();
            Map<String, OnnxTensor> outputs = new HashMap<>();
            inputs.put(KvCacheStepGraph.INPUT_IDS, run.longs(0, newTokens(b), b));
            inputs.put(KvCacheStepGraph.POSITION_IDS, run.longs(1, newPositions(b), b));
            inputs.put(KvCacheStepGraph.PAST_BIAS, run.floats(arena.biasOf(b), b, room));
            long[] pastShape = {b, nHead, room, headSize};
            int c = nHead * headSize;
            FloatBuffer[] fresh = new FloatBuffer[2 * nLayer];
            for (int layer = 0; layer < nLayer; layer++) {
                inputs.put(KvCacheGraphs.pastKey(layer), run.floats(arena.pastOf(2 * layer, b), pastShape));
                inputs.put(KvCacheGraphs.pastValue(layer), run.floats(arena.pastOf(2 * layer + 1, b), pastShape));
                for (int kv = 0; kv < 2; kv++) {
                    int t = 2 * layer + kv;
                    newSpace[t] = space(newSpace[t], b * c);
                    fresh[t] = exactly(newSpace[t], b * c);
                    outputs.put(kv == 0 ? KvCacheStepGraph.newKey(layer) : KvCacheStepGraph.newValue(layer),
                            run.floats(fresh[t], b, c));
                }
            }
            FloatBuffer out = logitsOutput(run, outputs, b, KvCacheStepGraph.LOGITS, b, vocabSize); // [B, V]
            stepSession.run(inputs, outputs).close();
            inPlaceSteps++;
            for (int r = 0; r < b; r++) {
                CachedSlot slot = rows.get(r);
                arena.append(r, slot.cached, fresh, r * c, headSize);  // new [B, C]: head h at r * C + h * HS
                slot.cached++;
            }
            return logitsByRow(out, b);
        }
    }

    /**
     * One step of rows 0..B-1 with {@code decoder.onnx}, for an export without the step graph:
     * the rows' first P positions (P = the longest row, so that P + 1 fits the block the graph
     * was built for) are copied into a padded past, masked where a row holds nothing, and the new
     * position, index P of each {@code present}, is appended to each row.
     */
    private float[][] decodeWithPresent(int b) throws OrtException {
        int p = 0;
        for (int r = 0; r < b; r++) {
            p = Math.max(p, rows.get(r).cached);
        }
        long[] mask = new long[b * (p + 1)];
        for (int r = 0; r < b; r++) {
            for (int j = 0; j < p; j++) {
                mask[r * (p + 1) + j] = arena.holds(r, j) ? 1 : 0;
            }
            mask[r * (p + 1) + p] = 1; // the new token
        }
        try (Run run = new Run()) {
            Map<String, OnnxTensor> inputs = new HashMap<>();
            Map<String, OnnxTensor> outputs = new HashMap<>();
            inputs.put(KvCacheGraphs.INPUT_IDS, run.longs(0, newTokens(b), b, 1));
            inputs.put(KvCacheGraphs.POSITION_IDS, run.longs(1, newPositions(b), b, 1));
            inputs.put(KvCacheGraphs.ATTENTION_MASK, run.longs(2, mask, b, p + 1));
            long[] pastShape = {b, nHead, p, headSize};
            int pastFloats = b * nHead * p * headSize;
            for (int layer = 0; layer < nLayer; layer++) {
                for (int kv = 0; kv < 2; kv++) {
                    int t = 2 * layer + kv;
                    paddedPastSpace[t] = space(paddedPastSpace[t], pastFloats);
                    FloatBuffer past = exactly(paddedPastSpace[t], pastFloats);
                    arena.copyPast(t, b, p, past);
                    inputs.put(kv == 0 ? KvCacheGraphs.pastKey(layer) : KvCacheGraphs.pastValue(layer),
                            run.floats(past, pastShape));
                }
            }
            FloatBuffer[] present = presentOutputs(run, outputs, b, p + 1, new long[] {b, nHead, p + 1, headSize});
            FloatBuffer out = logitsOutput(run, outputs, b, KvCacheGraphs.LOGITS, b, 1, vocabSize); // [B, 1, V]
            session.run(inputs, outputs).close();
            int rowFloats = nHead * (p + 1) * headSize;
            for (int r = 0; r < b; r++) {
                CachedSlot slot = rows.get(r);
                // present [B, NH, P + 1, HS]: row r's head h holds the new token at index P.
                arena.append(r, slot.cached, present, r * rowFloats + p * headSize, (p + 1) * headSize);
                slot.cached++;
            }
            return logitsByRow(out, b);
        }
    }

    /** Each row's new token, [B]: the last one in its window. */
    private long[] newTokens(int b) {
        long[] ids = new long[b];
        for (int r = 0; r < b; r++) {
            CachedSlot slot = rows.get(r);
            ids[r] = slot.window[slot.cached];
        }
        return ids;
    }

    /** Each row's new token's position, [B]. */
    private long[] newPositions(int b) {
        long[] positions = new long[b];
        for (int r = 0; r < b; r++) {
            positions[r] = rows.get(r).cached;
        }
        return positions;
    }

    private float[][] logitsByRow(FloatBuffer out, int b) {
        float[][] logits = new float[b][vocabSize];
        for (int r = 0; r < b; r++) {
            out.get(r * vocabSize, logits[r]);
        }
        return logits;
    }

    /** Pins the {@code present} outputs [B, NH, K, HS] to the reused present buffers, and returns them. */
    private FloatBuffer[] presentOutputs(Run run, Map<String, OnnxTensor> outputs, int b, int k, long[] shape)
            throws OrtException {
        FloatBuffer[] present = new FloatBuffer[2 * nLayer];
        int floats = b * nHead * k * headSize;
        for (int layer = 0; layer < nLayer; layer++) {
            for (int kv = 0; kv < 2; kv++) {
                int t = 2 * layer + kv;
                presentSpace[t] = space(presentSpace[t], floats);
                present[t] = exactly(presentSpace[t], floats);
                outputs.put(kv == 0 ? KvCacheGraphs.presentKey(layer) : KvCacheGraphs.presentValue(layer),
                        run.floats(present[t], shape));
            }
        }
        return present;
    }

    /** Pins the logits output ({@code rowsOfV} rows of V floats) to the reused logits buffer, and returns it. */
    private FloatBuffer logitsOutput(Run run, Map<String, OnnxTensor> outputs, int rowsOfV, String name, long... shape)
            throws OrtException {
        logitsSpace = space(logitsSpace, rowsOfV * vocabSize);
        FloatBuffer out = exactly(logitsSpace, rowsOfV * vocabSize);
        outputs.put(name, run.floats(out, shape));
        return out;
    }

    /** The tensors of one session run, over reused direct buffers; close it to free them. */
    private final class Run implements AutoCloseable {
        private final List<OnnxTensor> tensors = new ArrayList<>();

        OnnxTensor floats(FloatBuffer buffer, long... shape) throws OrtException {
            OnnxTensor tensor = OnnxTensor.createTensor(env, buffer, shape);
            tensors.add(tensor);
            return tensor;
        }

        /** A long tensor of {@code values}, copied into scratch buffer {@code scratch} of {@link #longSpace}. */
        OnnxTensor longs(int scratch, long[] values, long... shape) throws OrtException {
            LongBuffer space = longSpace[scratch];
            if (space == null || space.capacity() < values.length) {
                int grown = Math.max(values.length, space == null ? 0 : space.capacity() * 3 / 2);
                space = ByteBuffer.allocateDirect(grown * Long.BYTES).order(ByteOrder.nativeOrder()).asLongBuffer();
                longSpace[scratch] = space;
            }
            LongBuffer exact = space.duplicate().position(0).limit(values.length).slice().put(values).flip();
            OnnxTensor tensor = OnnxTensor.createTensor(env, exact, shape);
            tensors.add(tensor);
            return tensor;
        }

        @Override
        public void close() {
            for (OnnxTensor t : tensors) {
                t.close();
            }
        }
    }

    /** {@code space} when it holds {@code floats} floats, else a new direct buffer (half as large again, to grow rarely). */
    private static FloatBuffer space(FloatBuffer space, int floats) {
        if (space != null && space.capacity() >= floats) {
            return space;
        }
        int grown = Math.max(floats, space == null ? 0 : (int) Math.min(Integer.MAX_VALUE / 2, space.capacity() * 3L / 2));
        return ByteBuffer.allocateDirect(grown * Float.BYTES).order(ByteOrder.nativeOrder()).asFloatBuffer();
    }

    /** The first {@code floats} floats of {@code space}, as a buffer of exactly that size. */
    private static FloatBuffer exactly(FloatBuffer space, int floats) {
        return space.duplicate().position(0).limit(floats).slice();
    }

    @Override
    public void close() throws OrtException {
        rows.clear();
        session.close();
        if (stepSession != null) {
            stepSession.close();
        }
    }
}
