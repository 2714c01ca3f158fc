package io.troupe.ops.serve;

import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.http.javadsl.model.HttpResponse;

/**
 * The shape of an endpoint whose work blocks in ONNX Runtime ({@code /v1/explain},
 * {@code /v1/embeddings}, {@code /v1/translate}): a request takes a lease on the served model,
 * is checked on the caller's thread (the model id, then the kind of model and its input), and then runs
 * on the endpoint's own daemon thread, one request at a time, off pekko's dispatcher, holding the
 * lease until it ends. At most {@code queueLimit} requests wait; beyond them the answer is 429
 * {@code queue_full}. Every refusal releases the lease.
 */
final class LeasedQueue implements AutoCloseable {
    /** Where a request gets its hold on the served model. */
    @FunctionalInterface
    interface Leases {
        ServedModel.Lease acquire() throws ApiError;
    }

    /** A request's checks on the model it holds, before it queues; returns what the work needs. */
    @FunctionalInterface
    interface Prepare<T> {
        T prepare(ServedModel model) throws ApiError;
    }

    /** A request's work on the queue's thread; an {@link ApiError} it throws is the answer. */
    @FunctionalInterface
    interface Work<T> {
        HttpResponse run(ServedModel model, T prepared) throws Exception;
    }

    private final Leases leases;
    private final String busy;
    private final ThreadPoolExecutor executor;

    /**
     * @param thread the name of the endpoint's thread
     * @param busy the message of a 429, e.g. "too many explanations are waiting; retry shortly"
     */
    LeasedQueue(Leases leases, String thread, int queueLimit, String busy) {
        this.leases = leases;
        this.busy = busy;
        this.executor = new ThreadPoolExecutor(1, 1, 0, TimeUnit.SECONDS, new ArrayBlockingQueue<>(Math.max(1, queueLimit)),
                r -> {
                    Thread t = new Thread(r, thread);
                    t.setDaemon(true);
                    return t;
                });
    }

    /**
     * Runs one request: a lease, the checks (the model id {@code requestedModel} included), then
     * the work on the queue. Fails with an {@link ApiError} for a refusal, or with a bug.
     */
    <T> CompletionStage<HttpResponse> submit(String requestedModel, Prepare<T> prepare, Work<T> work) {
        ServedModel.Lease lease;
        try {
            lease = leases.acquire();
        } catch (ApiError e) {
            return CompletableFuture.failedFuture(e);
        }
        ServedModel m = lease.model();
        try {
            OpenAiServer.checkModel(m, requestedModel);
            T prepared = prepare.prepare(m);
            return CompletableFuture.supplyAsync(() -> {
                try (lease) {
                    return work.run(m, prepared);
                } catch (CompletionException e) {
                    throw e;
                } catch (Exception e) {
                    throw new CompletionException(e);
                }
            }, executor);
        } catch (ApiError e) {
            lease.close();
            return CompletableFuture.failedFuture(e);
        } catch (RejectedExecutionException e) {
            lease.close();
            return CompletableFuture.failedFuture(new ApiError(429, "rate_limit_exceeded", null, "queue_full", busy));
        }
    }

    /** Stops the thread; queued requests are dropped (the server is closing). */
    @Override
    public void close() {
        executor.shutdownNow();
    }
}
