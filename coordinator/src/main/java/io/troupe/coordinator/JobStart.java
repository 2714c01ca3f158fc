package io.troupe.coordinator;

import io.troupe.worker.job.JobSettings;
import io.troupe.worker.job.protocol.JobMessage;
import io.troupe.worker.job.protocol.JoinJob;
import io.troupe.worker.job.protocol.WorkerHello;
import java.util.Optional;
import org.apache.pekko.actor.typed.ActorRef;

/**
 * When a job may start, pause and go on: it waits for the workers it asked for before its
 * first step, pauses when fewer than min-workers remain, goes on when enough are back, and
 * takes a newcomer into a running ring (at the next step boundary) only while the ring is
 * below max-workers.
 */
final class JobStart {
    private final JobSpec spec;
    private final int workers;
    private final ElasticPolicy policy;
    private final String dataPlane;

    /**
     * @param dataPlane this node's ring settings ({@code RingSettings.admissionKey}) that every
     *     worker must share
     */
    JobStart(JobSpec spec, String dataPlane) {
        this.spec = spec;
        this.workers = spec.workers();
        this.policy = spec.elastic();
        this.dataPlane = dataPlane;
    }

    /**
     * Why a worker that offered itself cannot take part (another Troupe version, other ring
     * settings), if it cannot. Refused here, it never costs the job a ring formation.
     */
    Optional<String> refusal(WorkerHello hello) {
        if (!hello.troupeVersion().equals(spec.version())) {
            return Optional.of("this coordinator runs Troupe " + spec.version() + " but the worker runs "
                    + hello.troupeVersion() + "; run the same troupe.jar on every node");
        }
        if (!hello.dataPlane().isEmpty() && !hello.dataPlane().equals(dataPlane)) {
            return Optional.of("the worker's data plane has " + hello.dataPlane() + " but this coordinator's has "
                    + dataPlane + "; set troupe.worker.data-plane the same on every node (ring members with other"
                    + " settings cannot reduce together)");
        }
        return Optional.empty();
    }

    /** What a newly admitted worker is told to prepare: the job, with the rank it was seeded with. */
    JoinJob invitation(ActorRef<JobMessage> coordinator, int seedRank) {
        return new JoinJob(coordinator, spec.jobId(), seedRank % workers, workers, JobSettings.toJson(spec.settings()),
                spec.tokenizer().toJson(), spec.dataPath().toString(), spec.dataSha256(), 0, 0,
                spec.settings().batchSize(), spec.outDir().toString(), spec.wire(), true, spec.finetuneJson());
    }

    /** How many workers the first step waits for. */
    int awaited() {
        return workers;
    }

    /** True when a job that has not started has enough ready workers to start. */
    boolean canStart(long ready) {
        return ready >= workers;
    }

    /** True when a paused job has enough ready workers to go on. */
    boolean canContinue(long ready) {
        return ready >= policy.minWorkers();
    }

    /** True when a running ring of {@code ringSize} has room for a newly ready worker. */
    boolean hasRoom(int ringSize) {
        return ringSize < policy.maxWorkers();
    }

    /** The message of a job that paused at {@code step} with {@code available} workers. */
    String pausedBecause(String jobId, long step, int available) {
        return "job " + jobId + " paused at step " + step + ": " + available + " worker(s) available, --min-workers is "
                + policy.minWorkers() + "; start more workers ('troupe worker --join ...') and it continues";
    }
}
