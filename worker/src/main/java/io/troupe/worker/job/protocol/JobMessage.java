package io.troupe.worker.job.protocol;

/**
 * The job protocol between the coordinator and its workers, as plain records. Actors send and
 * receive these directly: locally they travel as objects, between JVMs {@link
 * JobMessageSerializer} writes them as a protobuf {@code troupe.cluster.JobFrame}. Strings
 * that are optional on the wire ({@code error}, hosts) are empty when absent, never null;
 * actor refs that are absent are null.
 */
public sealed interface JobMessage permits WorkerHello, JoinJob, JobReady, ConnectRing, RingReady, RunStep, StepDone,
        StepFailed, FinishJob, JobFinished, Probe, ProbeReply, FormRing, LeaveRequest {
}
