package io.troupe.ops.inference;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtLoggingLevel;
import ai.onnxruntime.OrtSession;
import io.troupe.data.DataException;
import io.troupe.model.gpt.KvCacheGraphs;
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
import java.util.Set;

/**
 * A {@link BatchDecoder} over the exported KV-cache decoder ({@code decoder.onnx}, see
 * {@link KvCacheGraphs}): each slot keeps the keys and values of its tokens, so a step runs one
 * new token per sequence instead of the whole context.
 *
 * <p><b>Memory.</b> A slot's cache holds up to block_size positions of every layer's keys and
 * values (n_layer x 2 x block_size x n_embd floats); {@link #capacity()} is how many such full
 * caches fit in the budget given to {@link #open}. A sequence started by {@link #openAll} with
 * its max_tokens gets a cache of prompt + max_tokens positions only (capped at block_size; it
 * grows to the block if the sequence runs on), and released caches are reused rather than
 * allocated and zeroed again.
 *
 * <p><b>Joining.</b> {@link #openAll} runs the prefills of sequences that join together in one
 * batched run: prompts padded on the right to the longest of a group and masked, each row's
 * logits read at its own last token. Prompts of very different lengths go in different groups,
 * so padding never costs more than the real tokens. A batched step whose batch differs from the last run's
 * assembles the batch's caches into one padded input, which costs up to as much again while it
 * runs; the same batch stepping again reuses the last run's output as its past instead.
 *
 * <p><b>Different lengths.</b> A step pads the batch's pasts to the longest and masks the padding
 * ({@code attention_mask}); each token gets its own position ({@code position_ids}).
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
    private final OrtSession session;
    private final int nLayer;
    private final int nHead;
    private final int headSize;
    private final int blockSize;
    private final int vocabSize;
    private final int capacity;
    private final Set<CachedSlot> open = Collections.newSetFromMap(new IdentityHashMap<>());
    /** Caches of released slots, kept for the next sequences (allocating one zeroes it: 72 MiB at the GPT-2 shape). */
    private final List<float[][]> freeCaches = new ArrayList<>();
    /** Reused direct buffers: the past and present of tensor t (layer * 2 + k|v), and the logits. */
    private FloatBuffer[] pastSpace;
    private FloatBuffer[] presentSpace;
    private FloatBuffer logitsSpace;
    /**
     * Direct scratch for the three long inputs (ids, positions, mask), reused by every run: ORT
     * reads a direct buffer in place, while a heap array costs a fresh direct copy per tensor.
     */
    private final LongBuffer[] longSpace = new LongBuffer[3];
    /**
     * The batch of the last run, in order, whose {@code present} buffers [B, NH, residentLength,
     * HS] are still intact: when the next step runs exactly these slots again, that present is its
     * past as it stands (holes and all, masked by {@link #residentMask}), so the step appends one
     * position instead of copying every slot's cache into a padded past. Empty when unknown.
     */
    private List<CachedSlot> resident = List.of();
    /** The attention mask [B, residentLength] of the resident batch's last run: 1 where a row holds a real token. */
    private long[] residentMask = new long[0];
    private int residentLength;
    /** Decode steps that reused the last present as their past (for tests and diagnostics). */
    private long reusedPasts;

    private KvCacheDecoder(OrtEnvironment env, OrtSession session, int nLayer, int nHead, int nEmbd, int blockSize,
                           int vocabSize, long budgetBytes, int maxSlots) {
        this.env = env;
        this.session = session;
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
        this.pastSpace = new FloatBuffer[2 * nLayer];
        this.presentSpace = new FloatBuffer[2 * nLayer];
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
     * Opens {@code dir/decoder.onnx} holding at most {@code maxSlots} sequences, fewer when the
     * budget holds fewer caches (each is allocated when its first sequence opens).
     *
     * @throws DataException when the file is missing, not loadable or not a Troupe language-model decoder
     * @throws IllegalArgumentException when the budget holds no sequence
     */
    public static KvCacheDecoder open(Path dir, int threads, long budgetBytes, int maxSlots) throws DataException {
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
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            options.setIntraOpNumThreads(threads);
            options.setSessionLogLevel(OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR);
            options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            // Idle intra-op threads spin for a while by default, waiting for the next parallel
            // section. A server shares its cores with the HTTP threads that carry the tokens, and a
            // spinning thread takes their CPU; -Dtroupe.decoder.spin=true restores ORT's default.
            options.addConfigEntry("session.intra_op.allow_spinning", Boolean.getBoolean(SPIN_PROPERTY) ? "1" : "0");
            session = env.createSession(file.toString(), options);
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
            return new KvCacheDecoder(env, session, shape[2], shape[3], shape[4], shape[0], shape[1], budgetBytes, maxSlots);
        } catch (OrtException | NumberFormatException e) {
            closeQuietly(session);
            throw new DataException(file + " is not a loadable Troupe decoder: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            closeQuietly(session);
            throw e;
        }
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
        return open.size();
    }

    /** A sequence's cache: keys and values [layer * 2 + k|v][NH, room, HS], and the tokens they belong to. */
    private final class CachedSlot implements Slot {
        float[][] cache;
        /** Positions the cache holds per head (<= block_size). */
        int room;
        /** The tokens whose keys and values the cache holds, oldest first: the model's window. */
        final int[] window = new int[blockSize];
        int cached;
        int length;

        CachedSlot(float[][] cache) {
            this.cache = cache;
            this.room = cache[0].length / (nHead * headSize);
        }

        /** Makes room for the whole block (a sequence that runs past the length it was opened for). */
        void growToBlock() {
            float[][] grown = new float[2 * nLayer][nHead * blockSize * headSize];
            for (int t = 0; t < grown.length; t++) {
                for (int h = 0; h < nHead; h++) {
                    System.arraycopy(cache[t], h * room * headSize, grown[t], h * blockSize * headSize, cached * headSize);
                }
            }
            cache = grown;
            room = blockSize;
        }

        @Override
        public int length() {
            return length;
        }
    }

    /** Starts one sequence with room for the whole block; see {@link #openAll} to size the cache and batch the prefills. */
    @Override
    public Opened open(int[] prompt) throws OrtException {
        return openAll(List.of(new Start(prompt, blockSize))).get(0);
    }

    /**
     * Starts the sequences, each with a cache of prompt + max_tokens positions (at most the
     * block), and runs their prefills in batched runs: sorted by length, a group takes prompts
     * down to half its longest, up to {@link #PREFILL_TOKENS} padded tokens per run.
     */
    @Override
    public List<Opened> openAll(List<Start> starts) throws OrtException {
        for (Start start : starts) {
            if (start.prompt().length == 0) {
                throw new IllegalArgumentException("a sequence starts from at least one token");
            }
        }
        if (open.size() >= capacity) {
            throw new IllegalStateException("all " + capacity + " KV-cache slots are held; release one first");
        }
        if (open.size() + starts.size() > capacity) {
            throw new IllegalStateException(starts.size() + " sequences do not fit: " + open.size() + " of " + capacity
                    + " KV-cache slots are held; release some first");
        }
        CachedSlot[] slots = new CachedSlot[starts.size()];
        float[][] logits = new float[starts.size()][];
        try {
            for (int i = 0; i < slots.length; i++) {
                int[] prompt = starts.get(i).prompt();
                int n = Math.min(prompt.length, blockSize);
                long wanted = Math.min(blockSize, (long) prompt.length + Math.max(1, starts.get(i).maxTokens()));
                slots[i] = new CachedSlot(cacheFor((int) wanted));
                System.arraycopy(prompt, prompt.length - n, slots[i].window, 0, n);
                slots[i].cached = n; // what the prefill will hold
                slots[i].length = prompt.length;
                open.add(slots[i]);
            }
            Integer[] order = new Integer[slots.length];
            for (int i = 0; i < order.length; i++) {
                order[i] = i;
            }
            Arrays.sort(order, (a, b) -> Integer.compare(slots[b].cached, slots[a].cached)); // longest first
            for (int from = 0; from < order.length; ) {
                int longest = slots[order[from]].cached;
                int to = from + 1;
                while (to < order.length && 2 * slots[order[to]].cached >= longest
                        && (long) (to - from + 1) * longest <= Math.max(PREFILL_TOKENS, longest)) {
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

    /**
     * A cache of at least {@code positions} positions: the smallest free one that is large
     * enough, else a new one of exactly that size. Full and free caches together never exceed
     * {@link #capacity()} (a free one is dropped to make room), so memory stays in the budget.
     */
    private float[][] cacheFor(int positions) {
        int floats = nHead * positions * headSize;
        int best = -1;
        for (int i = 0; i < freeCaches.size(); i++) {
            int size = freeCaches.get(i)[0].length;
            if (size >= floats && (best < 0 || size < freeCaches.get(best)[0].length)) {
                best = i;
            }
        }
        if (best >= 0) {
            return freeCaches.remove(best);
        }
        if (open.size() + freeCaches.size() >= capacity && !freeCaches.isEmpty()) {
            freeCaches.remove(freeCaches.size() - 1);
        }
        return new float[2 * nLayer][floats];
    }

    @Override
    public float[][] step(List<Slot> slots, int[] tokens) throws OrtException {
        if (slots.size() != tokens.length) {
            throw new IllegalArgumentException(slots.size() + " slots but " + tokens.length + " tokens");
        }
        float[][] logits = new float[slots.size()][];
        List<CachedSlot> batch = new ArrayList<>();
        List<Integer> rows = new ArrayList<>();
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
        for (int i = 0; i < slots.size(); i++) {
            CachedSlot slot = (CachedSlot) slots.get(i);
            slot.length++;
            if (slot.cached == blockSize) {
                // The window is full: slide it by one and recompute it from position 0.
                System.arraycopy(slot.window, 1, slot.window, 0, blockSize - 1);
                slot.window[blockSize - 1] = tokens[i];
                logits[i] = prefill(List.of(slot))[0];
            } else {
                if (slot.cached == slot.room) {
                    slot.growToBlock();
                }
                slot.window[slot.cached] = tokens[i];
                batch.add(slot);
                rows.add(i);
            }
        }
        if (!batch.isEmpty()) {
            float[][] decoded = decode(batch);
            for (int b = 0; b < batch.size(); b++) {
                logits[rows.get(b)] = decoded[b];
            }
        }
        return logits;
    }

    private CachedSlot owned(Slot slot) {
        if (!(slot instanceof CachedSlot cached) || !open.contains(cached)) {
            throw new IllegalArgumentException("the slot is not open in this decoder (released, or from another one)");
        }
        return cached;
    }

    @Override
    public void release(Slot slot) {
        if (slot instanceof CachedSlot cached && open.remove(cached)) {
            freeCaches.add(cached.cache);
            if (resident.contains(cached)) {
                forgetResident();
            }
        }
    }

    /**
     * Runs the first {@code cached} tokens of each slot's window with an empty past, in one run
     * padded on the right to the longest (the padding masked, and after every real token, so no
     * real token attends to it), fills each cache with its keys and values, and returns the
     * logits [B][V] after each slot's last token.
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
        forgetResident(); // the run overwrites the present buffers
        Run run = run(ids, positions, mask, b, s, 0, (past, l, kv) -> { });
        try (run) {
            // present [B, NH, S, HS] -> each cache [NH, room, HS], its first `cached` positions
            for (int t = 0; t < 2 * nLayer; t++) {
                FloatBuffer present = run.present(t);
                for (int i = 0; i < b; i++) {
                    CachedSlot slot = group.get(i);
                    if (slot.room < slot.cached) {
                        slot.growToBlock();
                    }
                    for (int h = 0; h < nHead; h++) {
                        present.get((i * nHead + h) * s * headSize, slot.cache[t], h * slot.room * headSize,
                                slot.cached * headSize);
                    }
                }
            }
            becomeResident(List.copyOf(group), mask, s);
            float[][] logits = new float[b][vocabSize];
            FloatBuffer out = run.logits(); // [B, S, V]
            for (int i = 0; i < b; i++) {
                out.get((i * s + group.get(i).cached - 1) * vocabSize, logits[i]);
            }
            return logits;
        }
    }

    /**
     * One new token (at {@code window[cached]}) for each slot; returns logits [B][V] and appends
     * each token's keys and values to its cache. When the batch is the resident one (the same
     * slots in the same order as the last run), the last present is the past: P = the resident
     * length, and a row's earlier padding stays masked. Otherwise the pasts are copied from the
     * slots' caches, padded to the longest, P = max cached.
     */
    private float[][] decode(List<CachedSlot> batch) throws OrtException {
        int b = batch.size();
        boolean pastReady = batch.equals(resident) && residentLength < blockSize;
        int p;
        long[] mask;
        if (pastReady) {
            p = residentLength;
            mask = new long[b * (p + 1)];
            for (int i = 0; i < b; i++) {
                System.arraycopy(residentMask, i * p, mask, i * (p + 1), p);
                mask[i * (p + 1) + p] = 1; // the new token
            }
            reusedPasts++;
            // The last run's present is this run's past; swap the buffers instead of copying.
            FloatBuffer[] swap = pastSpace;
            pastSpace = presentSpace;
            presentSpace = swap;
        } else {
            p = 0;
            for (CachedSlot slot : batch) {
                p = Math.max(p, slot.cached);
            }
            mask = new long[b * (p + 1)];
            for (int i = 0; i < b; i++) {
                Arrays.fill(mask, i * (p + 1), i * (p + 1) + batch.get(i).cached, 1);
                mask[i * (p + 1) + p] = 1; // the new token; positions cached..p-1 are padding
            }
        }
        int total = p + 1;
        long[] ids = new long[b];
        long[] positions = new long[b];
        for (int i = 0; i < b; i++) {
            CachedSlot slot = batch.get(i);
            ids[i] = slot.window[slot.cached];
            positions[i] = slot.cached;
        }
        int pastLength = p;
        int rowFloats = pastLength * headSize;
        forgetResident();
        Run run = run(ids, positions, mask, b, 1, pastLength, pastReady ? null : (past, t, unused) -> {
            // past [B, NH, P, HS] <- each slot's first `cached` positions, zeros after them.
            for (int i = 0; i < b; i++) {
                CachedSlot slot = batch.get(i);
                int used = slot.cached * headSize;
                for (int h = 0; h < nHead; h++) {
                    int at = (i * nHead + h) * rowFloats;
                    past.put(at, slot.cache[t], h * slot.room * headSize, used);
                    // Padding must be finite (a masked weight is 0, and 0 x NaN is NaN): zero it.
                    for (int z = at + used; z < at + rowFloats; z += ZEROS.length) {
                        past.put(z, ZEROS, 0, Math.min(ZEROS.length, at + rowFloats - z));
                    }
                }
            }
        });
        try (run) {
            for (int t = 0; t < 2 * nLayer; t++) {
                FloatBuffer present = run.present(t);
                for (int i = 0; i < b; i++) {
                    CachedSlot slot = batch.get(i);
                    for (int h = 0; h < nHead; h++) {
                        // present [B, NH, P + 1, HS]: the new token is at index P.
                        present.get(((i * nHead + h) * total + p) * headSize, slot.cache[t],
                                (h * slot.room + slot.cached) * headSize, headSize);
                    }
                }
            }
            float[][] logits = new float[b][vocabSize];
            FloatBuffer out = run.logits();
            for (int i = 0; i < b; i++) {
                out.get(i * vocabSize, logits[i]);
                batch.get(i).cached++;
            }
            becomeResident(List.copyOf(batch), mask, total);
            return logits;
        }
    }

    /** Decode steps so far whose past was the previous run's present, not a copy of the caches. */
    long reusedPasts() {
        return reusedPasts;
    }

    /** Records that the present buffers hold {@code batch}'s keys and values, [B, NH, length, HS], under {@code mask}. */
    private void becomeResident(List<CachedSlot> batch, long[] mask, int length) {
        resident = batch;
        residentMask = mask;
        residentLength = length;
    }

    private void forgetResident() {
        resident = List.of();
        residentMask = new long[0];
        residentLength = 0;
    }

    private static final float[] ZEROS = new float[1 << 14];

    /** Fills tensor {@code t} (layer * 2 + k|v) of the past. */
    @FunctionalInterface
    private interface PastFiller {
        void fill(FloatBuffer past, int t, int unused);
    }

    /** One session run whose inputs and outputs live in reused direct buffers; close it to free the tensors. */
    private final class Run implements AutoCloseable {
        private final List<OnnxTensor> tensors = new ArrayList<>();
        private final FloatBuffer[] present = new FloatBuffer[2 * nLayer];
        private FloatBuffer logits;

        FloatBuffer present(int t) {
            return present[t];
        }

        FloatBuffer logits() {
            return logits;
        }

        OnnxTensor tensor(FloatBuffer buffer, long... shape) throws OrtException {
            OnnxTensor tensor = OnnxTensor.createTensor(env, buffer, shape);
            tensors.add(tensor);
            return tensor;
        }

        /** A long tensor of {@code values}, copied into scratch buffer {@code scratch} of {@link #longSpace}. */
        OnnxTensor tensor(int scratch, long[] values, long... shape) throws OrtException {
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

    /**
     * Runs the decoder on B sequences of S new tokens after a past of P positions. The outputs
     * are written straight into scratch buffers (pinned outputs), so only the rows the caller
     * reads are copied.
     */
    private Run run(long[] ids, long[] positions, long[] mask, int b, int s, int p, PastFiller filler)
            throws OrtException {
        Run run = new Run();
        try {
            Map<String, OnnxTensor> inputs = new HashMap<>();
            Map<String, OnnxTensor> outputs = new HashMap<>();
            inputs.put(KvCacheGraphs.INPUT_IDS, run.tensor(0, ids, b, s));
            inputs.put(KvCacheGraphs.POSITION_IDS, run.tensor(1, positions, b, s));
            inputs.put(KvCacheGraphs.ATTENTION_MASK, run.tensor(2, mask, b, p + s));
            long[] pastShape = {b, nHead, p, headSize};
            long[] presentShape = {b, nHead, p + s, headSize};
            for (int layer = 0; layer < nLayer; layer++) {
                for (int kv = 0; kv < 2; kv++) {
                    int t = layer * 2 + kv;
                    pastSpace[t] = space(pastSpace[t], b * nHead * p * headSize);
                    FloatBuffer past = exactly(pastSpace[t], b * nHead * p * headSize);
                    if (filler != null) {
                        filler.fill(past, t, 0);
                    }
                    inputs.put(kv == 0 ? KvCacheGraphs.pastKey(layer) : KvCacheGraphs.pastValue(layer),
                            run.tensor(past, pastShape));
                    presentSpace[t] = space(presentSpace[t], b * nHead * (p + s) * headSize);
                    run.present[t] = exactly(presentSpace[t], b * nHead * (p + s) * headSize);
                    outputs.put(kv == 0 ? KvCacheGraphs.presentKey(layer) : KvCacheGraphs.presentValue(layer),
                            run.tensor(run.present[t], presentShape));
                }
            }
            logitsSpace = space(logitsSpace, b * s * vocabSize);
            run.logits = exactly(logitsSpace, b * s * vocabSize);
            outputs.put(KvCacheGraphs.LOGITS, run.tensor(run.logits, b, s, vocabSize));
            session.run(inputs, outputs).close();
            return run;
        } catch (OrtException | RuntimeException e) {
            run.close();
            throw e;
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
        open.clear();
        freeCaches.clear();
        forgetResident();
        session.close();
    }
}
