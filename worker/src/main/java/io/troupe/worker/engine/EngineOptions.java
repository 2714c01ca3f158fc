package io.troupe.worker.engine;

import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;

/**
 * How a {@link StepEngine} session is set up.
 *
 * <p>Inter-op parallelism is fixed at one thread and execution is sequential: a training step is
 * one long chain of dependent operators, so running independent branches in parallel buys little
 * and would compete with the intra-op threads that parallelise each large operator.
 *
 * @param intraOpThreads threads ONNX Runtime uses inside one operator (e.g. a MatMul), at least 1
 * @param device where the graph runs
 * @param optimization how much ONNX Runtime rewrites the graph before running it
 * @param profilingPrefix when present, ONNX Runtime's profiler is on and writes a Chrome-trace JSON
 *     file whose name starts with this path; {@link StepEngine#endProfiling()} returns the file
 * @param memory how ONNX Runtime allocates the step's intermediate tensors (arena, memory pattern)
 */
public record EngineOptions(
        int intraOpThreads, Device device, GraphOptimization optimization, Optional<Path> profilingPrefix,
        OrtMemory memory) {

    /**
     * How ONNX Runtime allocates intermediate tensors on the CPU.
     *
     * @param arena ORT's CPU arena: freed blocks are kept for reuse, and the arena grows by
     *              powers of two, so its peak can exceed the live tensors by up to 2x
     * @param memoryPattern ORT's memory pattern: after the first run, one block sized for the
     *                      whole run's plan is allocated per run (needs the arena to pay off)
     */
    public record OrtMemory(boolean arena, boolean memoryPattern) {
        /** ORT's defaults: arena and memory pattern on. */
        public static final OrtMemory DEFAULT = new OrtMemory(true, true);
    }

    /** Options with ORT's default memory settings. */
    public EngineOptions(int intraOpThreads, Device device, GraphOptimization optimization,
                         Optional<Path> profilingPrefix) {
        this(intraOpThreads, device, optimization, profilingPrefix, OrtMemory.DEFAULT);
    }

    /** @throws IllegalArgumentException if a value is out of range or missing */
    public EngineOptions {
        if (intraOpThreads < 1) {
            throw new IllegalArgumentException("intraOpThreads must be >= 1, got " + intraOpThreads);
        }
        Objects.requireNonNull(device, "device");
        Objects.requireNonNull(optimization, "optimization");
        Objects.requireNonNull(profilingPrefix, "profilingPrefix");
        Objects.requireNonNull(memory, "memory");
    }

    /** CPU, every optimization, no profiling, with the given number of intra-op threads. */
    public static EngineOptions cpu(int intraOpThreads) {
        return new EngineOptions(intraOpThreads, Device.cpu(), GraphOptimization.ALL, Optional.empty());
    }

    /** A copy that runs on {@code device}. */
    public EngineOptions withDevice(Device device) {
        return new EngineOptions(intraOpThreads, device, optimization, profilingPrefix, memory);
    }

    /** A copy with the given graph optimization level. */
    public EngineOptions withOptimization(GraphOptimization optimization) {
        return new EngineOptions(intraOpThreads, device, optimization, profilingPrefix, memory);
    }

    /** A copy with ONNX Runtime's profiler on, writing to a file whose name starts with {@code prefix}. */
    public EngineOptions withProfiling(Path prefix) {
        return new EngineOptions(intraOpThreads, device, optimization, Optional.of(prefix), memory);
    }

    /** A copy with the given ORT memory settings. */
    public EngineOptions withMemory(OrtMemory newMemory) {
        return new EngineOptions(intraOpThreads, device, optimization, profilingPrefix, newMemory);
    }

    /** A copy with {@code threads} intra-op threads (e.g. one per lane). */
    public EngineOptions withIntraOpThreads(int threads) {
        return new EngineOptions(threads, device, optimization, profilingPrefix, memory);
    }
}
