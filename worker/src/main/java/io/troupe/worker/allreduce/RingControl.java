package io.troupe.worker.allreduce;

import java.net.InetSocketAddress;
import java.util.concurrent.CompletableFuture;
import org.apache.pekko.Done;
import org.apache.pekko.stream.stage.AsyncCallback;

/**
 * The thread-safe handle to a running {@link RingStage}: the stage's state lives on its own
 * thread, and everything from outside reaches it as an asynchronous callback. A callback that
 * arrives after the stage stopped fails the caller's future with the reason the stage stopped,
 * so no call waits on a stage that is gone.
 */
final class RingControl {

    private final AsyncCallback<StepRequest> start;
    private final AsyncCallback<InetSocketAddress> predecessorAccepted;
    private final AsyncCallback<InetSocketAddress> connecting;
    private final AsyncCallback<Done> successorConnected;
    private final AsyncCallback<Done> stop;
    private final CompletableFuture<Void> ready = new CompletableFuture<>();
    private final CompletableFuture<Void> terminated = new CompletableFuture<>();
    private volatile RingException failure;

    RingControl(AsyncCallback<StepRequest> start, AsyncCallback<InetSocketAddress> predecessorAccepted,
                AsyncCallback<InetSocketAddress> connecting, AsyncCallback<Done> successorConnected,
                AsyncCallback<Done> stop) {
        this.start = start;
        this.predecessorAccepted = predecessorAccepted;
        this.connecting = connecting;
        this.successorConnected = successorConnected;
        this.stop = stop;
    }

    /** Hands an all-reduce to the stage; {@code request.done()} reports the outcome. */
    void start(StepRequest request) {
        // On the completing thread: pekko returns a Scala future seen as a CompletableFuture, whose
        // plain whenComplete runs on the JDK's default executor, which on a machine of two cores or
        // fewer starts a new thread per call, here once per step.
        start.invokeWithFeedbackCompletionStage(request).whenCompleteAsync((ok, notDelivered) -> {
            if (notDelivered != null) {
                request.done().completeExceptionally(stoppedReason());
            }
        }, Runnable::run);
    }

    /** The predecessor connected from {@code address}. */
    void predecessorAccepted(InetSocketAddress address) {
        predecessorAccepted.invoke(address);
    }

    /** connect() was called: the successor listens at {@code address}; the connect timeout starts. */
    void connecting(InetSocketAddress address) {
        connecting.invoke(address);
    }

    /** The TCP connection to the successor is established. */
    void successorConnected() {
        successorConnected.invoke(Done.getInstance());
    }

    /** Closes both connections; a running step fails. */
    void stop() {
        stop.invoke(Done.getInstance());
    }

    /** Completes when both neighbours are connected and the predecessor's handshake checked out. */
    CompletableFuture<Void> ready() {
        return ready;
    }

    /** Completes when the stage has stopped, for whatever reason. */
    CompletableFuture<Void> terminated() {
        return terminated;
    }

    /** Why the stage stopped, or null while it runs. */
    RingException failure() {
        return failure;
    }

    void recordFailure(RingException reason) {
        failure = reason;
    }

    private RingException stoppedReason() {
        RingException reason = failure;
        return reason != null ? reason : new RingException("the ring member has stopped", null);
    }
}
