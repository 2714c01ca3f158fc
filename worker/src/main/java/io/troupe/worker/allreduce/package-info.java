/**
 * The data plane: a ring all-reduce of one flat float buffer (the gradients) among N workers,
 * over Pekko Streams TCP connections between ring neighbours, separate from Artery.
 *
 * <h2>Algorithm</h2>
 * Reduce-scatter then all-gather, 2(N-1) phases (see {@link io.troupe.worker.allreduce.RingPlan}):
 * the buffer is cut into N segments (uneven when N does not divide it; empty ones send nothing),
 * each segment into chunks of {@link io.troupe.worker.allreduce.RingSettings#chunkBytes()}. A chunk
 * received in one phase is reduced into the buffer and forwarded in the next, so the ring is a
 * pipeline: the next chunk is on the wire while this one is being added. The mean is the sum
 * scaled by 1/N by the member that completes it; every member ends with bit-identical values.
 *
 * <h2>Wire protocol</h2>
 * Length-prefixed binary frames with a 44-byte header (step, phase, segment, chunk, element count,
 * buffer size, wire format; see {@link io.troupe.worker.allreduce.FrameHeader}): a receiver checks
 * each frame against exactly what it expects next, so a frame of another step, phase or layout is
 * a {@link io.troupe.worker.allreduce.RingProtocolException}, never silently added. A connection
 * starts with a hello (rank, world size, chunk size, wire format, protocol version) and may end
 * with an abort carrying the reason its sender gave up. Payloads are fp32 or bf16
 * ({@link io.troupe.worker.allreduce.WireFormat}); sums are always fp32.
 *
 * <h2>Flow control and failures</h2>
 * Frames are encoded from the buffer only when the successor's connection asks for one (Pekko
 * Streams demand, i.e. TCP backpressure), and read from the predecessor only while a step needs
 * them. Every call has a deadline; a stall, a closed connection or a protocol error fails the call
 * with a {@link io.troupe.worker.allreduce.RingException} naming the neighbour (rank and address),
 * and the failing member tells both neighbours why before closing, so the whole ring fails within
 * milliseconds with the original cause in every member's error. A failed member stays failed:
 * the caller forms a new ring.
 *
 * <h2>Entry points</h2>
 * {@link io.troupe.worker.allreduce.RingAllReduce} (one member),
 * {@link io.troupe.worker.allreduce.LoopbackRing} (a whole ring in one JVM),
 * {@link io.troupe.worker.allreduce.DataPlaneConfig} (Pekko settings that make it faster),
 * {@link io.troupe.worker.allreduce.AllReduceBenchmark} ({@code troupe bench allreduce}).
 */
package io.troupe.worker.allreduce;
