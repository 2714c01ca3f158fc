package io.troupe.worker.transfer;

import io.troupe.worker.transfer.StateRefusedException.Reason;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.pekko.NotUsed;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;

/**
 * What a state server has to give, and its answer to one request: the offered snapshot in chunks,
 * or a refusal with a one-line reason. Kept apart from the TCP wiring in {@link StateServer} so
 * that the rules of who gets what are in one place.
 *
 * <p>Who gets anything: only a request that presents the admitted token, which the coordinator
 * draws afresh for every ring generation and sends only to the job's workers (in its probe and
 * ring assignment). Until a token is admitted nobody is. A request without it, with a stale one or
 * a wrong one is refused with a fixed answer that tells nothing (no job id, no step, no owner).
 */
final class StateOffer {

    /**
     * Bytes per chunk handed to the connection: big enough that per-element costs vanish,
     * small enough that a slow client holds back little (TCP backpressure pulls chunk by chunk).
     */
    static final int CHUNK_BYTES = 256 * 1024;

    /** One offered state; the bytes are shared by every transfer of it, never copied. */
    private record Snapshot(String jobId, long step, byte[] encoded) {
    }

    /** The only answer an unadmitted asker gets. */
    static final String NOT_ADMITTED = "not admitted";

    private final String owner;
    private final AtomicReference<Snapshot> offered = new AtomicReference<>();
    /** The token a request must present; null admits nobody. */
    private final AtomicReference<byte[]> admitted = new AtomicReference<>();

    StateOffer(String owner) {
        this.owner = owner;
    }

    /** Makes {@code encoded}, the state of {@code step} of {@code jobId}, the one served. */
    void offer(String jobId, long step, byte[] encoded) {
        byte[] id = Objects.requireNonNull(jobId, "jobId").getBytes(StandardCharsets.UTF_8);
        if (id.length == 0 || id.length > TransferProtocol.MAX_JOB_ID_BYTES) {
            throw new IllegalArgumentException("a job id must have 1 to "
                    + TransferProtocol.MAX_JOB_ID_BYTES + " bytes of UTF-8, got " + id.length);
        }
        offered.set(new Snapshot(jobId, step, encoded));
    }

    void withdraw() {
        offered.set(null);
    }

    /**
     * From now on only requests presenting {@code token} are served (a fetch already running
     * finishes); the token admitted before is stale.
     *
     * @throws IllegalArgumentException if the token is empty or over 128 bytes of UTF-8
     */
    void admit(String token) {
        byte[] secret = TransferProtocol.tokenBytes(token);
        if (secret.length == 0) {
            throw new IllegalArgumentException("a state token must not be empty");
        }
        admitted.set(secret);
    }

    /**
     * The answer to one request frame. Transfers that started keep the snapshot they began
     * with, whatever is offered or withdrawn meanwhile: a client gets one consistent state.
     */
    Source<ByteString, NotUsed> answer(ByteString requestFrame) {
        TransferProtocol.Request request;
        try {
            request = TransferProtocol.parseRequest(requestFrame);
        } catch (IllegalArgumentException e) {
            return refuse(Reason.BAD_REQUEST, -1, e.getMessage());
        }
        byte[] expected = admitted.get();
        // Constant time: how much of a guess matched must not show in the answer's timing.
        if (expected == null || !MessageDigest.isEqual(expected, request.token())) {
            return refuse(Reason.NOT_ADMITTED, -1, NOT_ADMITTED);
        }
        Snapshot snapshot = offered.get();
        if (snapshot == null) {
            return refuse(Reason.NO_STATE, -1, owner + " has no state offered");
        }
        if (!snapshot.jobId().equals(request.jobId())) {
            // Says nothing about what is offered (no job id, no step): the asker may be anyone.
            return refuse(Reason.OTHER_JOB, -1, "it serves no state for the job asked for");
        }
        if (request.step() >= 0 && request.step() != snapshot.step()) {
            return refuse(Reason.OTHER_STEP, snapshot.step(), owner + " has the state of step "
                    + snapshot.step() + " but step " + request.step() + " was asked");
        }
        return Source.single(TransferProtocol.ok(snapshot.step(), snapshot.encoded().length))
                .concat(chunks(snapshot.encoded()));
    }

    private static Source<ByteString, NotUsed> refuse(Reason reason, long offeredStep,
            String why) {
        return Source.single(TransferProtocol.refusal(reason, offeredStep, why));
    }

    // Views of the shared array, made one at a time as the connection asks for them.
    private static Source<ByteString, NotUsed> chunks(byte[] bytes) {
        return Source.unfold(0, offset -> {
            if (offset >= bytes.length) {
                return Optional.empty();
            }
            int count = Math.min(CHUNK_BYTES, bytes.length - offset);
            return Optional.of(Pair.create(offset + count,
                    ByteString.fromArrayUnsafe(bytes, offset, count)));
        });
    }
}
