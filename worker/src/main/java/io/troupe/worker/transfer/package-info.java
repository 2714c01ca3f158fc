/**
 * Peer-to-peer transfer of the whole training state (a
 * {@link io.troupe.worker.checkpoint.Checkpoint}: parameters, AdamW moments and step, sampler
 * states, config, tokenizer) over Pekko Streams TCP on the data plane, for workers that join a
 * running job, fell behind after a failure, or whose parameters diverged, and for the
 * coordinator handing a checkpoint from disk to the workers of a resumed job. Pekko remoting is
 * not used: its messages are limited to a few megabytes, a model's state is hundreds.
 *
 * <h2>Shape</h2>
 * A {@link io.troupe.worker.transfer.StateServer} serves one offered state, encoded once in the
 * checkpoint file format (CRC32C trailer included), to any number of clients at once, each in
 * backpressured chunks of the one shared array. {@link io.troupe.worker.transfer.StateClient}
 * connects, asks for a job's state of a step, and decodes and verifies it as it arrives.
 *
 * <h2>Wire protocol</h2>
 * One length-prefixed request (magic, version, wanted step, job id); one answer: a 24-byte
 * header (status, offered step, length) followed by the checkpoint's bytes, or by a one-line
 * reason for a refusal (no state offered, another step, another job, a bad request). See
 * {@code TransferProtocol}.
 *
 * <h2>Failures</h2>
 * Deadlines everywhere, never a hang: a fetch has one deadline for the whole transfer; the server
 * drops clients that do not ask within 10 s or stop reading for 60 s. Every client-side failure
 * is a {@link io.troupe.worker.transfer.StateTransferException} subclass whose one-line message
 * names the peer's address and the fix.
 */
package io.troupe.worker.transfer;
