package io.troupe.worker.job.protocol;

import com.google.protobuf.InvalidProtocolBufferException;
import io.troupe.protocol.cluster.JobFrame;
import io.troupe.worker.allreduce.WireFormat;
import io.troupe.worker.bert.MaskedTokens;
import java.io.NotSerializableException;
import java.util.Locale;
import java.util.Optional;
import java.util.OptionalInt;
import org.apache.pekko.actor.ActorPaths;
import org.apache.pekko.actor.ExtendedActorSystem;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorRefResolver;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.serialization.SerializerWithStringManifest;

/**
 * The only place where {@link JobMessage} records and their protobuf form meet. Every record
 * travels as one {@code troupe.cluster.JobFrame} whose {@code oneof} names the message; reading
 * dispatches on that case. Actor refs travel as {@link ActorRefResolver} strings.
 *
 * <p>A frame from a peer is not trusted: bytes that do not parse, a frame with no case set (a
 * peer of another version) or a ref that is not an actor path are refused with a
 * {@link NotSerializableException} naming the problem; Artery logs it and drops that one frame.
 * Sizes inside a frame are checked by the protobuf parser against the bytes actually received,
 * and Artery bounds the frame itself ({@code pekko.remote.artery.advanced.maximum-frame-size}).
 */
public final class JobMessageSerializer extends SerializerWithStringManifest {
    /** Pekko serializer id; must be unique in the actor system. */
    public static final int IDENTIFIER = 74_303;
    /** The manifest of every frame: the layout version of {@code JobFrame}. */
    static final String MANIFEST = "job-frame-v1";

    private final ExtendedActorSystem system;
    private volatile ActorRefResolver resolver;

    /** Pekko creates serializers reflectively with their actor system. */
    public JobMessageSerializer(ExtendedActorSystem system) {
        this.system = system;
    }

    @Override
    public int identifier() {
        return IDENTIFIER;
    }

    @Override
    public String manifest(Object o) {
        return MANIFEST;
    }

    @Override
    public byte[] toBinary(Object o) {
        if (!(o instanceof JobMessage m)) {
            throw new IllegalArgumentException("JobMessageSerializer cannot serialize " + o.getClass().getName());
        }
        return toFrame(m).toByteArray();
    }

    @Override
    public Object fromBinary(byte[] bytes, String manifest) throws NotSerializableException {
        if (!MANIFEST.equals(manifest)) {
            throw new NotSerializableException("unknown job frame layout '" + manifest
                    + "': the peer runs another Troupe version; run the same troupe.jar on every node");
        }
        JobFrame frame;
        try {
            frame = JobFrame.parseFrom(bytes);
        } catch (InvalidProtocolBufferException e) {
            throw new NotSerializableException("malformed job frame (" + bytes.length + " bytes): " + e.getMessage());
        }
        return fromFrame(frame);
    }

    /**
     * The frame for {@code m}. Java 17 has no pattern switch over a sealed type (preview until
     * 21), so this is the one type test chain; the serializer test round-trips every permitted
     * record, so a record missing here fails it.
     */
    JobFrame toFrame(JobMessage m) {
        JobFrame.Builder f = JobFrame.newBuilder();
        if (m instanceof WorkerHello h) {
            f.setWorkerHello(io.troupe.protocol.cluster.WorkerHello.newBuilder()
                    .setWorker(ref(h.worker())).setTroupeVersion(text(h.troupeVersion())).setThreads(h.threads())
                    .setDevice(text(h.device())).setDataHost(text(h.dataHost())).setDataPlane(text(h.dataPlane()))
                    .setStandby(h.standby()));
        } else if (m instanceof JoinJob j) {
            f.setJoinJob(io.troupe.protocol.cluster.JoinJob.newBuilder()
                    .setCoordinator(ref(j.coordinator())).setJobId(text(j.jobId())).setRank(j.rank())
                    .setWorldSize(j.worldSize()).setSettingsJson(text(j.settingsJson()))
                    .setTokenizerJson(text(j.tokenizerJson())).setDataPath(text(j.dataPath()))
                    .setDataSha256(text(j.dataSha256())).setMicroBatch(j.microBatch()).setGradAccum(j.gradAccum())
                    .setGlobalBatch(j.globalBatch()).setOutDir(text(j.outDir()))
                    .setWire(j.wire() == null ? "" : j.wire().name().toLowerCase(Locale.ROOT))
                    .setElastic(j.elastic()).setFinetuneJson(text(j.finetuneJson())));
        } else if (m instanceof JobReady r) {
            f.setJobReady(io.troupe.protocol.cluster.JobReady.newBuilder()
                    .setJobId(text(r.jobId())).setRank(r.rank()).setOk(r.ok()).setError(text(r.error()))
                    .setDataHost(text(r.dataHost())).setDataPort(r.dataPort()).setGeneration(r.generation())
                    .setWorker(ref(r.worker())).setStateHost(text(r.stateHost())).setStatePort(r.statePort()));
        } else if (m instanceof ConnectRing c) {
            f.setConnectRing(io.troupe.protocol.cluster.ConnectRing.newBuilder()
                    .setJobId(text(c.jobId())).setSuccessorHost(text(c.successorHost()))
                    .setSuccessorPort(c.successorPort()).setGeneration(c.generation()));
        } else if (m instanceof RingReady r) {
            f.setRingReady(io.troupe.protocol.cluster.RingReady.newBuilder()
                    .setJobId(text(r.jobId())).setRank(r.rank()).setOk(r.ok()).setError(text(r.error()))
                    .setGeneration(r.generation()));
        } else if (m instanceof RunStep r) {
            f.setRunStep(io.troupe.protocol.cluster.RunStep.newBuilder()
                    .setJobId(text(r.jobId())).setStep(r.step()).setLr(r.lr()).setEvaluate(r.evaluate())
                    .setCheckpoint(r.checkpoint()).setVerifyParams(r.verifyParams()).setGeneration(r.generation())
                    .setSampleFrom(r.sampleFrom()).setRows(r.rows()).setMicroBatch(r.microBatch())
                    .setGradAccum(r.gradAccum()).setWorldSize(r.worldSize()).setGlobalBatch(r.globalBatch()));
        } else if (m instanceof StepDone d) {
            io.troupe.protocol.cluster.StepDone.Builder b = io.troupe.protocol.cluster.StepDone.newBuilder()
                    .setJobId(text(d.jobId())).setRank(d.rank()).setStep(d.step()).setLoss(d.loss())
                    .setGradNorm(d.gradNorm()).setParamChecksum(d.paramChecksum())
                    .setTrainEvalLoss(d.trainEvalLoss()).setValEvalLoss(d.valEvalLoss())
                    .setEvalBatches(d.evalBatches()).setComputeMs(d.computeMs()).setAllreduceMs(d.allreduceMs())
                    .setGeneration(d.generation()).setSampleFrom(d.sampleFrom()).setRows(d.rows())
                    .setSkipped(d.skipped());
            d.valMasked().ifPresent(t -> b.setValMaskedCorrect(t.correct()).setValMaskedCount(t.masked()));
            b.setAllreduceExposedMs(d.allreduceExposedMs());
            f.setStepDone(b);
        } else if (m instanceof StepFailed s) {
            io.troupe.protocol.cluster.StepFailed.Builder b = io.troupe.protocol.cluster.StepFailed.newBuilder()
                    .setJobId(text(s.jobId())).setRank(s.rank()).setStep(s.step()).setError(text(s.error()))
                    .setGeneration(s.generation());
            if (s.suspectRank() != null && s.suspectRank().isPresent()) {
                b.setSuspectRank(s.suspectRank().getAsInt());
            }
            f.setStepFailed(b);
        } else if (m instanceof FinishJob j) {
            f.setFinishJob(io.troupe.protocol.cluster.FinishJob.newBuilder()
                    .setJobId(text(j.jobId())).setExportModel(j.exportModel()));
        } else if (m instanceof JobFinished j) {
            f.setJobFinished(io.troupe.protocol.cluster.JobFinished.newBuilder()
                    .setJobId(text(j.jobId())).setRank(j.rank()).setError(text(j.error())));
        } else if (m instanceof Probe p) {
            f.setProbe(io.troupe.protocol.cluster.Probe.newBuilder()
                    .setJobId(text(p.jobId())).setGeneration(p.generation()).setStateToken(text(p.stateToken())));
        } else if (m instanceof ProbeReply p) {
            f.setProbeReply(io.troupe.protocol.cluster.ProbeReply.newBuilder()
                    .setJobId(text(p.jobId())).setGeneration(p.generation()).setWorker(ref(p.worker()))
                    .setStep(p.step()).setParamChecksum(p.paramChecksum()).setLeaving(p.leaving()));
        } else if (m instanceof FormRing r) {
            f.setFormRing(io.troupe.protocol.cluster.FormRing.newBuilder()
                    .setJobId(text(r.jobId())).setGeneration(r.generation()).setRank(r.rank())
                    .setWorldSize(r.worldSize()).setSyncHost(text(r.syncHost())).setSyncPort(r.syncPort())
                    .setSyncStep(r.syncStep()).setRingToken(text(r.ringToken()))
                    .setStateToken(text(r.stateToken())));
        } else if (m instanceof LeaveRequest l) {
            f.setLeaveRequest(io.troupe.protocol.cluster.LeaveRequest.newBuilder()
                    .setJobId(text(l.jobId())).setWorker(ref(l.worker())));
        } else {
            throw new IllegalStateException("no frame case for " + m.getClass().getName());
        }
        return f.build();
    }

    /** The record in {@code frame}, dispatched on its case. */
    JobMessage fromFrame(JobFrame frame) throws NotSerializableException {
        return switch (frame.getMessageCase()) {
            case WORKER_HELLO -> {
                var h = frame.getWorkerHello();
                yield new WorkerHello(resolve(h.getWorker(), "WorkerHello.worker"), h.getTroupeVersion(),
                        h.getThreads(), h.getDevice(), h.getDataHost(), h.getDataPlane(), h.getStandby());
            }
            case JOIN_JOB -> {
                var j = frame.getJoinJob();
                yield new JoinJob(resolve(j.getCoordinator(), "JoinJob.coordinator"), j.getJobId(), j.getRank(),
                        j.getWorldSize(), j.getSettingsJson(), j.getTokenizerJson(), j.getDataPath(),
                        j.getDataSha256(), j.getMicroBatch(), j.getGradAccum(), j.getGlobalBatch(), j.getOutDir(),
                        wire(j.getWire()), j.getElastic(), j.getFinetuneJson());
            }
            case JOB_READY -> {
                var r = frame.getJobReady();
                yield new JobReady(r.getJobId(), r.getRank(), r.getOk(), r.getError(), r.getDataHost(),
                        r.getDataPort(), r.getGeneration(), resolve(r.getWorker(), "JobReady.worker"),
                        r.getStateHost(), r.getStatePort());
            }
            case CONNECT_RING -> {
                var c = frame.getConnectRing();
                yield new ConnectRing(c.getJobId(), c.getSuccessorHost(), c.getSuccessorPort(), c.getGeneration());
            }
            case RING_READY -> {
                var r = frame.getRingReady();
                yield new RingReady(r.getJobId(), r.getRank(), r.getOk(), r.getError(), r.getGeneration());
            }
            case RUN_STEP -> {
                var r = frame.getRunStep();
                yield new RunStep(r.getJobId(), r.getStep(), r.getLr(), r.getEvaluate(), r.getCheckpoint(),
                        r.getVerifyParams(), r.getGeneration(), r.getSampleFrom(), r.getRows(), r.getMicroBatch(),
                        r.getGradAccum(), r.getWorldSize(), r.getGlobalBatch());
            }
            case STEP_DONE -> {
                var d = frame.getStepDone();
                yield new StepDone(d.getJobId(), d.getRank(), d.getStep(), d.getLoss(), d.getGradNorm(),
                        d.getParamChecksum(), d.getTrainEvalLoss(), d.getValEvalLoss(), d.getEvalBatches(),
                        d.getComputeMs(), d.getAllreduceMs(), d.getGeneration(), d.getSampleFrom(), d.getRows(),
                        d.getSkipped(), valMasked(d), d.hasAllreduceExposedMs() ? d.getAllreduceExposedMs()
                                : d.getAllreduceMs());
            }
            case STEP_FAILED -> {
                var s = frame.getStepFailed();
                yield new StepFailed(s.getJobId(), s.getRank(), s.getStep(), s.getError(), s.getGeneration(),
                        s.hasSuspectRank() ? OptionalInt.of(s.getSuspectRank()) : OptionalInt.empty());
            }
            case FINISH_JOB -> new FinishJob(frame.getFinishJob().getJobId(), frame.getFinishJob().getExportModel());
            case JOB_FINISHED -> {
                var j = frame.getJobFinished();
                yield new JobFinished(j.getJobId(), j.getRank(), j.getError());
            }
            case PROBE -> new Probe(frame.getProbe().getJobId(), frame.getProbe().getGeneration(),
                    frame.getProbe().getStateToken());
            case PROBE_REPLY -> {
                var p = frame.getProbeReply();
                yield new ProbeReply(p.getJobId(), p.getGeneration(), resolve(p.getWorker(), "ProbeReply.worker"),
                        p.getStep(), p.getParamChecksum(), p.getLeaving());
            }
            case FORM_RING -> {
                var r = frame.getFormRing();
                yield new FormRing(r.getJobId(), r.getGeneration(), r.getRank(), r.getWorldSize(), r.getSyncHost(),
                        r.getSyncPort(), r.getSyncStep(), r.getRingToken(), r.getStateToken());
            }
            case LEAVE_REQUEST -> new LeaveRequest(frame.getLeaveRequest().getJobId(),
                    resolve(frame.getLeaveRequest().getWorker(), "LeaveRequest.worker"));
            case MESSAGE_NOT_SET -> throw new NotSerializableException("job frame names no message (no oneof case "
                    + "set, " + frame.getUnknownFields().asMap().size() + " unknown field(s)): the peer runs another "
                    + "Troupe version or sent garbage; run the same troupe.jar on every node");
        };
    }

    private String ref(ActorRef<?> ref) {
        return ref == null ? "" : resolver().toSerializationFormat(ref);
    }

    private ActorRef<JobMessage> resolve(String ref, String field) throws NotSerializableException {
        if (ref.isEmpty()) {
            return null;
        }
        try {
            ActorPaths.fromString(ref); // resolveActorRef would quietly answer dead letters for a bad path
        } catch (Exception e) { // Scala throws MalformedURLException undeclared
            throw new NotSerializableException(field + " is not an actor ref: '" + abbreviate(ref) + "'");
        }
        return resolver().resolveActorRef(ref);
    }

    private static WireFormat wire(String name) throws NotSerializableException {
        if (name.isEmpty()) {
            return null;
        }
        try {
            return WireFormat.parse(name);
        } catch (IllegalArgumentException e) {
            throw new NotSerializableException("JoinJob.wire: " + e.getMessage());
        }
    }

    /** The masked-token counts of a StepDone, when the worker sent both; a peer's impossible counts are refused. */
    private static Optional<MaskedTokens> valMasked(io.troupe.protocol.cluster.StepDone d)
            throws NotSerializableException {
        if (!d.hasValMaskedCorrect() || !d.hasValMaskedCount()) {
            return Optional.empty();
        }
        try {
            return Optional.of(new MaskedTokens(d.getValMaskedCorrect(), d.getValMaskedCount()));
        } catch (IllegalArgumentException e) {
            throw new NotSerializableException("StepDone.val_masked: " + e.getMessage());
        }
    }

    private static String text(String s) {
        return s == null ? "" : s;
    }

    private static String abbreviate(String s) {
        return s.length() <= 80 ? s : s.substring(0, 80) + "...";
    }

    private ActorRefResolver resolver() {
        // Not in the constructor: serializers are made while the actor system starts, before
        // its typed extensions can be asked for.
        ActorRefResolver r = resolver;
        if (r == null) {
            r = ActorRefResolver.get(Adapter.toTyped(system));
            resolver = r;
        }
        return r;
    }
}
