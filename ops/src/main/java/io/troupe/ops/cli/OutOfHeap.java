package io.troupe.ops.cli;

import java.lang.management.ManagementFactory;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * The one line a command prints when the JVM ran out of heap: how large the heap was, what the
 * command was doing (read off the error's stack trace), and the option that gives it more. An
 * {@link OutOfMemoryError} is not the user's data or a bug in the usual sense: the default heap
 * is a quarter of the machine's memory, which a large model (GPT-2 124M's shape) outgrows.
 */
final class OutOfHeap {

    private static final double GIB = 1024.0 * 1024 * 1024;

    /** Where a frame's class name says what the command was doing; the first match, innermost frame first. */
    private record Phase(String classPrefix, String method, String description) {
        boolean matches(StackTraceElement frame) {
            return frame.getClassName().startsWith(classPrefix) && (method == null || frame.getMethodName().equals(method));
        }
    }

    private static final List<Phase> PHASES = List.of(
            new Phase("io.troupe.worker.checkpoint.ChecksummedOutput", null, "writing a checkpoint"),
            new Phase("io.troupe.worker.checkpoint.CheckpointFile", "write", "writing a checkpoint"),
            new Phase("io.troupe.worker.checkpoint.CheckpointFile", "encode", "encoding a checkpoint"),
            new Phase("io.troupe.worker.checkpoint.CheckpointStore", "save", "writing a checkpoint"),
            new Phase("io.troupe.worker.checkpoint.", null, "reading a checkpoint"),
            new Phase("io.troupe.worker.job.WorkerJob", "liveCheckpoint", "writing a checkpoint"),
            new Phase("io.troupe.worker.job.WorkerJob", "checkpoint", "writing a checkpoint"),
            new Phase("io.troupe.worker.run.ModelExport", null, "exporting model.onnx"),
            new Phase("io.troupe.worker.run.EncoderExport", null, "exporting model.onnx"),
            new Phase("io.troupe.worker.run.ClassifierExport", null, "exporting model.onnx"),
            new Phase("io.troupe.worker.job.WorkerJob", "evaluate", "evaluating"),
            new Phase("io.troupe.worker.job.WorkerJob", "step", "training a step"),
            new Phase("io.troupe.worker.job.WorkerJob", "<init>", "building the model and its training graph"),
            new Phase("io.troupe.data.", null, "reading the data"));

    private OutOfHeap() {
    }

    /** The first {@link OutOfMemoryError} in {@code failure}'s cause chain, if any. */
    static Optional<OutOfMemoryError> find(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof OutOfMemoryError oom) {
                return Optional.of(oom);
            }
        }
        return Optional.empty();
    }

    /**
     * The message (without the {@code troupe: } prefix) for {@code error} thrown by the command
     * {@code command} (e.g. {@code troupe train}), with this JVM's maximum heap and this machine's memory.
     */
    static String message(OutOfMemoryError error, String command) {
        return message(error, command, Runtime.getRuntime().maxMemory(), physicalMemory());
    }

    /** {@link #message(OutOfMemoryError, String)} for a heap of {@code maxHeap} bytes on a machine of {@code ramBytes} (0: unknown). */
    static String message(OutOfMemoryError error, String command, long maxHeap, long ramBytes) {
        String what = error.getMessage() == null || error.getMessage().contains("heap")
                ? "out of Java heap" : "out of memory (" + error.getMessage() + ")";
        String line = what + " (max " + gib(maxHeap) + " GiB) while " + phase(error, command) + "; ";
        // Twice the heap, but leave a quarter of the machine to ONNX Runtime's native buffers and the OS.
        long suggested = (long) Math.ceil(2 * maxHeap / GIB);
        long ceiling = ramBytes <= 0 ? suggested : (long) Math.floor(0.75 * ramBytes / GIB);
        if (Math.min(suggested, ceiling) * GIB <= maxHeap) {
            return line + "the heap is already most of this machine's " + gib(ramBytes)
                    + " GiB: use a smaller batch_size (more grad_accum) or model, or a larger machine";
        }
        return line + "give the JVM more with TROUPE_JAVA_OPTS=-Xmx" + Math.min(suggested, ceiling) + "g (see README)";
    }

    private static String phase(OutOfMemoryError error, String command) {
        for (StackTraceElement frame : error.getStackTrace()) {
            for (Phase phase : PHASES) {
                if (phase.matches(frame)) {
                    return phase.description;
                }
            }
        }
        return "running '" + command + "'";
    }

    private static String gib(long bytes) {
        return String.format(Locale.ROOT, "%.1f", bytes / GIB);
    }

    private static long physicalMemory() {
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            return os.getTotalMemorySize();
        }
        return 0;
    }
}
