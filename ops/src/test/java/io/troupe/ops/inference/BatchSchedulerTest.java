package io.troupe.ops.inference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.troupe.data.tokenize.CharTokenizer;
import io.troupe.data.tokenize.Tokenizer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Continuous batching over a {@link FakeBatchDecoder}: joins and leaves, queueing, 429, cancellation, n > 1. */
class BatchSchedulerTest {
    private static final Tokenizer TOKENIZER = CharTokenizer.fromText("abcdefghij");

    private BatchScheduler scheduler;
    private FakeBatchDecoder decoder;

    private BatchScheduler start(int capacity, int queueLimit) {
        decoder = new FakeBatchDecoder(TOKENIZER.vocabSize(), capacity);
        scheduler = new BatchScheduler(decoder, TOKENIZER, queueLimit, new BatchScheduler.Observer() {
        });
        return scheduler;
    }

    @AfterEach
    void stop() throws InterruptedException {
        if (decoder != null && decoder.gate != null) {
            decoder.gate.release(10_000);
        }
        if (scheduler != null) {
            scheduler.close();
        }
    }

    private static GenerationRequest greedy(String prompt, int maxTokens, String... stop) {
        return new GenerationRequest(TOKENIZER.encode(prompt), maxTokens, 1, 0.0, 1.0, null, List.of(stop));
    }

    /** Collects a request's streamed text and its result. */
    private static class Collector implements BatchScheduler.Listener {
        final List<String> deltas = Collections.synchronizedList(new ArrayList<>());
        final CompletableFuture<BatchScheduler.Result> result = new CompletableFuture<>();

        @Override
        public void onText(int choice, String text) {
            deltas.add(choice + ":" + text);
        }

        @Override
        public void onFinished(BatchScheduler.Result r) {
            result.complete(r);
        }

        BatchScheduler.Result await() throws Exception {
            return result.get(10, TimeUnit.SECONDS);
        }
    }

    private static void eventually(BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, "condition not reached in 10 s");
            Thread.sleep(2);
        }
    }

    /**
     * Lets gated steps through one at a time until {@code slots} slots are open, and returns with
     * the scheduler waiting at the gate and no permit left. Waiting for the slots alone is a race:
     * the scheduler may admit the first request before the others are submitted, and then wait
     * at the gate inside its step, where it admits nobody.
     *
     * @return how many steps were let through
     */
    private int openWhileGated(int slots) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        int released = 0;
        while (true) {
            boolean atGate = decoder.gate.hasQueuedThreads() && decoder.gate.availablePermits() == 0;
            if (atGate && decoder.openSlots() == slots) {
                return released;
            }
            if (atGate) {
                decoder.gate.release();
                released++;
            }
            assertTrue(System.nanoTime() < deadline, slots + " slots not open in 10 s (" + decoder.openSlots() + " are)");
            Thread.sleep(1);
        }
    }

    @Test
    void aRequestStreamsItsTokensAndEndsAtMaxTokens() throws Exception {
        start(4, 8);
        Collector c = new Collector();
        scheduler.submit(greedy("a", 5), c);
        BatchScheduler.Result r = c.await();
        assertEquals("bcdef", r.choices().get(0).text());
        assertEquals(FinishReason.LENGTH, r.choices().get(0).finishReason());
        assertEquals(List.of("0:b", "0:c", "0:d", "0:e", "0:f"), c.deltas);
        assertEquals(1, r.promptTokens());
        assertEquals(5, r.completionTokens());
        assertNull(r.error());
        eventually(() -> decoder.openSlots() == 0);
    }

    @Test
    void aStopStringEndsTheTextAndIsNeverSent() throws Exception {
        start(4, 8);
        Collector c = new Collector();
        scheduler.submit(greedy("a", 20, "de", "xyz"), c);
        BatchScheduler.Result r = c.await();
        assertEquals("bc", r.choices().get(0).text());
        assertEquals(FinishReason.STOP, r.choices().get(0).finishReason());
        assertEquals("bc", String.join("", c.deltas).replace("0:", ""));
        assertFalse(String.join("", c.deltas).contains("d"), c.deltas::toString);
        // A held-back prefix of a stop string that never completes is sent at the end.
        Collector held = new Collector();
        scheduler.submit(greedy("a", 3, "dx"), held);
        assertEquals("bcd", held.await().choices().get(0).text());
    }

    @Test
    void requestsThatArriveDuringAStepJoinTogetherInOneBatchedPrefill() throws Exception {
        start(8, 8);
        decoder.gate = new Semaphore(0);
        Collector first = new Collector();
        scheduler.submit(greedy("a", 3), first);
        eventually(() -> decoder.gate.hasQueuedThreads()); // the first request's step waits at the gate
        List<Collector> joiners = new ArrayList<>();
        for (String prompt : List.of("b", "cd", "e")) {
            Collector c = new Collector();
            scheduler.submit(greedy(prompt, 2), c);
            joiners.add(c);
        }
        decoder.gate.release(10_000);
        assertEquals("bcd", first.await().choices().get(0).text());
        assertEquals(List.of("cd", "ef", "fg"), joiners.stream().map(c -> {
            try {
                return c.await().choices().get(0).text();
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        }).toList());
        assertEquals(List.of(1, 3), decoder.joinSizes, "the three waiting requests were opened in one call");
        eventually(() -> decoder.openSlots() == 0);
    }

    @Test
    void requestsJoinAndLeaveTheBatchMidGeneration() throws Exception {
        start(4, 8);
        Collector late = new Collector();
        Collector early = new Collector() {
            @Override
            public void onText(int choice, String text) {
                super.onText(choice, text);
                if (deltas.size() == 3) { // joins while the first request is mid-way
                    try {
                        scheduler.submit(greedy("e", 3), late);
                    } catch (QueueFullException e) {
                        throw new AssertionError(e);
                    }
                }
            }
        };
        scheduler.submit(greedy("a", 9), early);
        assertEquals("bcdefghij", early.await().choices().get(0).text());
        assertEquals("fgh", late.await().choices().get(0).text());
        List<Integer> sizes = List.copyOf(decoder.batchSizes);
        // 8 steps after the prefill: alone, then shared for the late request's 2 steps after its prefill, then alone again.
        assertEquals(List.of(1, 1, 2, 2, 1, 1, 1, 1), sizes);
        eventually(() -> decoder.openSlots() == 0);
    }

    @Test
    void requestsBeyondCapacityQueueAndBeyondTheQueueLimitAreRefused() throws Exception {
        start(1, 2);
        decoder.gate = new Semaphore(0);
        Collector first = new Collector();
        Collector second = new Collector();
        Collector third = new Collector();
        scheduler.submit(greedy("a", 3), first);
        eventually(() -> decoder.openSlots() == 1);
        scheduler.submit(greedy("b", 3), second);
        scheduler.submit(greedy("c", 3), third);
        assertEquals(2, scheduler.queued());
        QueueFullException full = assertThrows(QueueFullException.class, () -> scheduler.submit(greedy("d", 3), new Collector()));
        assertTrue(full.getMessage().contains("retry later"), full.getMessage());

        decoder.gate.release(10_000);
        assertEquals("bcd", first.await().choices().get(0).text());
        assertEquals("cde", second.await().choices().get(0).text());
        assertEquals("def", third.await().choices().get(0).text());
        assertEquals(1, decoder.mostOpen.get(), "never more slots than the capacity");
        assertTrue(decoder.batchSizes.stream().allMatch(s -> s == 1));
        eventually(() -> decoder.openSlots() == 0 && scheduler.queued() == 0);
    }

    @Test
    void cancellingARunningOrWaitingRequestGivesItsSlotBack() throws Exception {
        start(1, 4);
        decoder.gate = new Semaphore(0);
        Collector running = new Collector();
        Collector waiting = new Collector();
        BatchScheduler.Generation r = scheduler.submit(greedy("a", 1000), running);
        eventually(() -> decoder.openSlots() == 1);
        BatchScheduler.Generation w = scheduler.submit(greedy("b", 1000), waiting);
        w.cancel();
        decoder.gate.release(5); // the scheduler sees the cancel between steps
        BatchScheduler.Result wr = waiting.await();
        assertTrue(wr.choices().isEmpty(), "a request cancelled while waiting never ran");
        eventually(() -> running.deltas.size() >= 4);
        r.cancel();
        decoder.gate.release(10_000);
        BatchScheduler.Result rr = running.await();
        assertEquals(FinishReason.CANCELLED, rr.choices().get(0).finishReason());
        assertTrue(rr.completionTokens() < 1000);
        eventually(() -> decoder.openSlots() == 0);

        // The freed slot serves the next request.
        Collector next = new Collector();
        scheduler.submit(greedy("c", 2), next);
        assertEquals("de", next.await().choices().get(0).text());
    }

    @Test
    void requestsCancelledTogetherAllGiveTheirSlotsBackWhileTheOthersRunOnAndEveryTokenIsCounted() throws Exception {
        decoder = new FakeBatchDecoder(TOKENIZER.vocabSize(), 6);
        java.util.concurrent.atomic.AtomicLong observed = new java.util.concurrent.atomic.AtomicLong();
        scheduler = new BatchScheduler(decoder, TOKENIZER, 8, new BatchScheduler.Observer() {
            @Override
            public void onTokens(int count) {
                observed.addAndGet(count);
            }
        });
        decoder.gate = new Semaphore(0);
        List<Collector> collectors = new ArrayList<>();
        List<BatchScheduler.Generation> generations = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            Collector c = new Collector();
            collectors.add(c);
            generations.add(scheduler.submit(greedy("a", i % 2 == 0 ? 1000 : 12), c));
        }
        int early = openWhileGated(6); // steps the first requests took before the last joined
        // The three long requests (0, 2, 4: first, middle and last of the batch) are cancelled between the same two steps.
        generations.get(0).cancel();
        generations.get(2).cancel();
        generations.get(4).cancel();
        decoder.gate.release(10_000);
        long completion = 0;
        for (int i = 0; i < 6; i++) {
            BatchScheduler.Result r = collectors.get(i).await();
            completion += r.completionTokens();
            if (i % 2 == 0) {
                assertEquals(FinishReason.CANCELLED, r.choices().get(0).finishReason());
                // Its prefill's token, the early steps', and the step in flight at the cancel.
                assertTrue(r.completionTokens() <= 2 + early, "request " + i + " stopped at the next step, after "
                        + r.completionTokens() + " tokens (" + early + " early steps)");
            } else {
                assertEquals(FinishReason.LENGTH, r.choices().get(0).finishReason(), "request " + i + " ran on to its end");
                assertEquals(12, r.completionTokens());
            }
        }
        eventually(() -> decoder.openSlots() == 0);
        assertEquals(completion, observed.get(), "the observer counts every generated token once");
    }

    @Test
    void nChoicesRunSideBySideWithTheirOwnSeeds() throws Exception {
        start(4, 8);
        GenerationRequest request = new GenerationRequest(TOKENIZER.encode("a"), 12, 3, 1.0, 1.0, 7L, List.of());
        Collector c = new Collector();
        scheduler.submit(request, c);
        BatchScheduler.Result r = c.await();
        assertEquals(3, r.choices().size());
        assertEquals(36, r.completionTokens());
        List<String> texts = r.choices().stream().map(BatchScheduler.Choice::text).toList();
        texts.forEach(t -> assertEquals(12, t.length()));
        assertNotEquals(texts.get(0), texts.get(1));
        assertNotEquals(texts.get(1), texts.get(2));
        assertEquals(3, decoder.mostOpen.get());
        assertTrue(decoder.batchSizes.stream().allMatch(s -> s == 3), decoder.batchSizes::toString);

        Collector again = new Collector();
        scheduler.submit(request, again);
        assertEquals(texts, again.await().choices().stream().map(BatchScheduler.Choice::text).toList(), "a seed reproduces");
        assertThrows(IllegalArgumentException.class,
                () -> scheduler.submit(new GenerationRequest(TOKENIZER.encode("a"), 2, 5, 1.0, 1.0, 7L, List.of()), new Collector()));
        eventually(() -> decoder.openSlots() == 0);
    }

    @Test
    void aFailingStepFailsItsRequestsAndTheSchedulerKeepsServing() throws Exception {
        start(2, 4);
        decoder.failNextStep = true;
        Collector failed = new Collector();
        scheduler.submit(greedy("a", 5), failed);
        BatchScheduler.Result r = failed.await();
        assertTrue(r.error().getMessage().contains("decoder exploded"));
        eventually(() -> decoder.openSlots() == 0);
        Collector ok = new Collector();
        scheduler.submit(greedy("a", 2), ok);
        assertEquals("bc", ok.await().choices().get(0).text());
    }

    @Test
    void closingCancelsEverythingAndReleasesTheSlots() throws Exception {
        start(1, 4);
        decoder.gate = new Semaphore(0);
        Collector running = new Collector();
        Collector waiting = new Collector();
        scheduler.submit(greedy("a", 100), running);
        eventually(() -> decoder.openSlots() == 1);
        scheduler.submit(greedy("b", 100), waiting);
        // Close while the running request is blocked inside a step, so it cannot finish by length
        // first; then let that step end: the scheduler must see the close before the next step.
        Thread closer = new Thread(() -> {
            try {
                scheduler.close();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        closer.start();
        eventually(() -> closer.getState() == Thread.State.TIMED_WAITING); // joining the scheduler thread
        decoder.gate.release(10_000);
        closer.join();
        assertEquals(FinishReason.CANCELLED, running.await().choices().get(0).finishReason());
        waiting.await();
        assertEquals(0, decoder.openSlots());
    }
}
