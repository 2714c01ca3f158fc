package io.troupe.ops.inference;

import io.troupe.data.tokenize.Tokenizer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.OptionalInt;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Continuous batching: one thread drives a {@link BatchDecoder}, advancing every running
 * sequence by one token per batched step. A request joins between any two steps (its prefill
 * runs, then it rides the shared steps) and leaves as soon as it is done, stopped or cancelled,
 * giving its slots back. Requests that do not fit the decoder's capacity wait in a FIFO queue;
 * past {@code queueLimit} waiting requests, {@link #submit} refuses with
 * {@link QueueFullException}.
 *
 * <p>Listeners are called on the scheduler thread and must not block.
 */
public final class BatchScheduler implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(BatchScheduler.class);

    /** Receives one request's output. */
    public interface Listener {
        /** New text of choice {@code choice} (never empty). */
        default void onText(int choice, String text) {
        }

        /** Choice {@code choice} ended. */
        default void onChoiceFinished(int choice, FinishReason reason) {
        }

        /** Every choice ended (or the request was cancelled or failed); called exactly once. */
        void onFinished(Result result);
    }

    /** Server-wide counts, for metrics. */
    public interface Observer {
        /** A batched step ran over {@code batchSize} sequences with {@code queued} requests waiting. */
        default void onStep(int batchSize, int queued) {
        }

        /** A request's first token came {@code nanos} after it was submitted. */
        default void onFirstToken(long nanos) {
        }

        /** {@code count} tokens were generated. */
        default void onTokens(int count) {
        }
    }

    /** One continuation as it ended. */
    public record Choice(int index, String text, FinishReason finishReason, int tokens) {
    }

    /** A request's outcome: its choices, token counts, and the decoder's error if it failed. */
    public record Result(List<Choice> choices, int promptTokens, int completionTokens, Exception error) {
    }

    /** A submitted request; {@link #cancel} frees its slots at the next step. */
    public final class Generation {
        private final GenerationRequest request;
        private final Listener listener;
        private final long submittedNanos = System.nanoTime();
        private final List<Sequence> sequences = new ArrayList<>();
        private volatile boolean cancelled;
        private boolean firstTokenSeen;
        private int running;
        private boolean finished;

        private Generation(GenerationRequest request, Listener listener) {
            this.request = request;
            this.listener = listener;
        }

        /** Stops this request (the client went away); its slots return before the next step. */
        public void cancel() {
            cancelled = true;
            wake();
        }
    }

    /** One choice of a request, holding one decoder slot while it runs. */
    private final class Sequence {
        final Generation owner;
        final int index;
        final TokenSampler sampler;
        final StopScanner scanner;
        final StringBuilder text = new StringBuilder();
        BatchDecoder.Slot slot;
        int generated;
        int next;
        FinishReason finishReason;

        Sequence(Generation owner, int index, long seed) {
            this.owner = owner;
            this.index = index;
            this.sampler = new TokenSampler(owner.request.temperature(), 0, owner.request.topP(), seed);
            this.scanner = new StopScanner(tokenizer, owner.request.stop());
        }
    }

    private final BatchDecoder decoder;
    private final Tokenizer tokenizer;
    private final OptionalInt endOfText;
    private final int queueLimit;
    private final Observer observer;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition work = lock.newCondition();
    private final ArrayDeque<Generation> waiting = new ArrayDeque<>();
    private final List<Sequence> running = new ArrayList<>();
    private final Thread thread;
    private volatile int runningCount;
    private boolean closed;

    /**
     * @param queueLimit how many requests may wait to join the batch (>= 1; a request waits at
     *     least until the next step) before {@link #submit} refuses
     */
    public BatchScheduler(BatchDecoder decoder, Tokenizer tokenizer, int queueLimit, Observer observer) {
        if (queueLimit < 1) {
            throw new IllegalArgumentException("queue limit must be >= 1, got " + queueLimit);
        }
        this.decoder = decoder;
        this.tokenizer = tokenizer;
        this.endOfText = tokenizer.endOfTextId();
        this.queueLimit = queueLimit;
        this.observer = observer;
        this.thread = new Thread(this::loop, "troupe-batch-scheduler");
        thread.setDaemon(true);
        thread.start();
    }

    /** How many sequences may run at once (the decoder's capacity). */
    public int capacity() {
        return decoder.capacity();
    }

    /**
     * Queues a request; it starts at the next step if its {@code n} slots are free.
     *
     * @throws QueueFullException when {@code queueLimit} requests already wait
     * @throws IllegalArgumentException when {@code n} exceeds the decoder's capacity
     */
    public Generation submit(GenerationRequest request, Listener listener) throws QueueFullException {
        if (request.n() > decoder.capacity()) {
            throw new IllegalArgumentException("n=" + request.n() + " exceeds the server's batch capacity of "
                    + decoder.capacity());
        }
        Generation generation = new Generation(request, listener);
        lock.lock();
        try {
            if (closed) {
                throw new IllegalStateException("the scheduler is closed");
            }
            if (waiting.size() >= queueLimit) {
                throw new QueueFullException("the server is busy: " + waiting.size()
                        + " requests are already waiting for a batch slot; retry later");
            }
            waiting.add(generation);
            work.signal();
        } finally {
            lock.unlock();
        }
        return generation;
    }

    /** Requests waiting for slots. */
    public int queued() {
        lock.lock();
        try {
            return waiting.size();
        } finally {
            lock.unlock();
        }
    }

    /** Sequences (choices) running in the batch. */
    public int running() {
        return runningCount;
    }

    private void wake() {
        lock.lock();
        try {
            work.signal();
        } finally {
            lock.unlock();
        }
    }

    private void loop() {
        while (true) {
            List<Generation> admitted = new ArrayList<>();
            List<Generation> dropped = new ArrayList<>();
            boolean stopping;
            lock.lock();
            try {
                while (!closed && waiting.isEmpty() && running.isEmpty()) {
                    work.awaitUninterruptibly();
                }
                stopping = closed;
                if (stopping) {
                    dropped.addAll(waiting);
                    waiting.clear();
                } else {
                    admit(admitted, dropped);
                }
            } finally {
                lock.unlock();
            }
            dropped.forEach(g -> finish(g, FinishReason.CANCELLED, null));
            if (stopping) {
                break;
            }
            dropCancelled();
            if (!admitted.isEmpty()) {
                prefill(admitted);
            }
            if (!running.isEmpty()) {
                step();
            }
            runningCount = running.size();
        }
        for (Sequence s : List.copyOf(running)) {
            end(s, FinishReason.CANCELLED);
        }
        runningCount = 0;
    }

    /** Moves waiting requests that fit the free slots into {@code admitted}, in order; cancelled ones into {@code dropped}. Holds the lock. */
    private void admit(List<Generation> admitted, List<Generation> dropped) {
        waiting.removeIf(g -> g.cancelled && dropped.add(g));
        int free = decoder.capacity() - decoder.openSlots();
        while (!waiting.isEmpty() && waiting.peek().request.n() <= free) {
            Generation g = waiting.poll();
            free -= g.request.n();
            admitted.add(g);
        }
    }

    private void dropCancelled() {
        for (int i = running.size() - 1; i >= 0; i--) { // backwards: end() removes the sequence from running
            Sequence s = running.get(i);
            if (s.owner.cancelled) {
                end(s, FinishReason.CANCELLED);
            }
        }
    }

    /**
     * Starts every choice of the admitted requests with one {@link BatchDecoder#openAll}, so
     * their prefills run batched, then takes each one's first token. When the prefill fails, all
     * of these requests fail (and no slot stays held).
     */
    private void prefill(List<Generation> admitted) {
        List<Sequence> starting = new ArrayList<>();
        List<BatchDecoder.Start> starts = new ArrayList<>();
        for (Generation g : admitted) {
            long base = g.request.seed() != null ? g.request.seed() : ThreadLocalRandom.current().nextLong();
            g.running = g.request.n();
            for (int i = 0; i < g.request.n(); i++) {
                Sequence s = new Sequence(g, i, base + i);
                g.sequences.add(s);
                starting.add(s);
                starts.add(new BatchDecoder.Start(g.request.prompt(), g.request.maxTokens()));
            }
        }
        List<BatchDecoder.Opened> opened;
        try {
            opened = decoder.openAll(starts);
        } catch (Exception e) {
            log.warn("prefill failed", e);
            fail(admitted, e);
            return;
        }
        for (int i = 0; i < starting.size(); i++) {
            starting.get(i).slot = opened.get(i).slot();
            running.add(starting.get(i));
        }
        observer.onTokens(starting.size());
        for (int i = 0; i < starting.size(); i++) {
            Sequence s = starting.get(i);
            accept(s, s.sampler.sample(opened.get(i).logits(), 0, decoder.vocabSize()));
        }
    }

    private void step() {
        List<Sequence> batch = List.copyOf(running);
        List<BatchDecoder.Slot> slots = new ArrayList<>(batch.size());
        int[] tokens = new int[batch.size()];
        for (int i = 0; i < batch.size(); i++) {
            slots.add(batch.get(i).slot);
            tokens[i] = batch.get(i).next;
        }
        observer.onStep(batch.size(), queued());
        float[][] logits;
        try {
            logits = decoder.step(slots, tokens); // [B][V]
        } catch (Exception e) {
            log.warn("decode step failed", e);
            fail(batch.stream().map(s -> s.owner).distinct().toList(), e);
            return;
        }
        observer.onTokens(batch.size());
        for (int i = 0; i < batch.size(); i++) {
            accept(batch.get(i), batch.get(i).sampler.sample(logits[i], 0, decoder.vocabSize()));
        }
    }

    /** Takes a sequence's newest token: sends its text, and ends the sequence on a stop or at max_tokens. */
    private void accept(Sequence s, int token) {
        Generation g = s.owner;
        s.generated++; // counted for the observer by the caller, once per run
        if (!g.firstTokenSeen) {
            g.firstTokenSeen = true;
            observer.onFirstToken(System.nanoTime() - g.submittedNanos);
        }
        boolean endOfDocument = endOfText.isPresent() && endOfText.getAsInt() == token;
        if (!endOfDocument) {
            send(s, s.scanner.append(token));
        }
        if (endOfDocument || s.scanner.stopped()) {
            end(s, FinishReason.STOP);
        } else if (s.generated >= g.request.maxTokens()) {
            send(s, s.scanner.flush());
            end(s, FinishReason.LENGTH);
        } else {
            s.next = token;
        }
    }

    private void send(Sequence s, String text) {
        if (text.isEmpty() || s.owner.cancelled) {
            return;
        }
        s.text.append(text);
        try {
            s.owner.listener.onText(s.index, text);
        } catch (RuntimeException e) {
            log.warn("a listener failed; cancelling its request", e);
            s.owner.cancelled = true;
        }
    }

    /** Releases a running sequence's slot and reports its end; the request finishes with its last sequence. */
    private void end(Sequence s, FinishReason reason) {
        if (s.finishReason != null) {
            return;
        }
        s.finishReason = reason;
        decoder.release(s.slot);
        running.remove(s);
        Generation g = s.owner;
        if (reason != FinishReason.CANCELLED && reason != FinishReason.ERROR) {
            try {
                g.listener.onChoiceFinished(s.index, reason);
            } catch (RuntimeException e) {
                log.warn("a listener failed", e);
            }
        }
        g.running--;
        if (g.running == 0) {
            finish(g, reason == FinishReason.CANCELLED ? FinishReason.CANCELLED : null, null);
        }
    }

    private void fail(List<Generation> generations, Exception error) {
        for (Generation g : generations) {
            for (Sequence s : g.sequences) {
                if (s.finishReason == null) {
                    s.finishReason = FinishReason.ERROR;
                    if (s.slot != null) {
                        decoder.release(s.slot);
                    }
                    running.remove(s);
                }
            }
            finish(g, FinishReason.ERROR, error);
        }
    }

    /** Reports a request's result once; {@code override} marks a cancelled or failed request's unfinished choices. */
    private void finish(Generation g, FinishReason override, Exception error) {
        if (g.finished) {
            return;
        }
        g.finished = true;
        List<Choice> choices = new ArrayList<>();
        int completionTokens = 0;
        for (Sequence s : g.sequences) {
            FinishReason reason = s.finishReason == null || g.cancelled ? override : s.finishReason;
            choices.add(new Choice(s.index, s.text.toString(), reason == null ? FinishReason.CANCELLED : reason,
                    s.generated));
            completionTokens += s.generated;
        }
        try {
            g.listener.onFinished(new Result(List.copyOf(choices), g.request.prompt().length, completionTokens, error));
        } catch (RuntimeException e) {
            log.warn("a listener failed", e);
        }
    }

    /** Stops the thread; waiting and running requests finish as cancelled and give their slots back. */
    @Override
    public void close() throws InterruptedException {
        lock.lock();
        try {
            closed = true;
            work.signal();
        } finally {
            lock.unlock();
        }
        thread.join(TimeUnit.SECONDS.toMillis(30));
    }
}
