package io.troupe.ops.cli;

import java.util.OptionalInt;

/**
 * How many ONNX Runtime threads each worker of one process gets. ORT's intra-op pool defaults
 * to every CPU, so N workers in one JVM (an embedded cluster, a study's trials) would each take
 * all of them and spend their time preempting each other; they share the CPUs instead.
 */
final class ThreadBudget {
    private ThreadBudget() {
    }

    /**
     * Threads of each of {@code localWorkers} workers: the explicit {@code --threads} value if
     * given, else the CPUs divided among the workers, at least 1.
     *
     * @param explicit the {@code --threads} value, or empty when the option was not given
     * @param cores the CPUs available to this JVM, at least 1
     * @param localWorkers workers this process runs, at least 1
     */
    static int perWorker(OptionalInt explicit, int cores, int localWorkers) {
        if (cores < 1 || localWorkers < 1) {
            throw new IllegalArgumentException("need at least 1 core and 1 worker, got " + cores + " and " + localWorkers);
        }
        return explicit.orElse(Math.max(1, cores / localWorkers));
    }

    /** True when {@code localWorkers} workers of {@code threadsPerWorker} threads want more than {@code cores}. */
    static boolean oversubscribed(int threadsPerWorker, int localWorkers, int cores) {
        return (long) threadsPerWorker * localWorkers > cores;
    }

    /** The one-line warning for an oversubscribed process. */
    static String warning(int threadsPerWorker, int localWorkers, int cores) {
        return "troupe: warning: " + localWorkers + " worker(s) x " + threadsPerWorker + " thread(s) = "
                + (long) threadsPerWorker * localWorkers + " threads on " + cores + " CPU(s); steps will be slower"
                + " than with --threads " + Math.max(1, cores / localWorkers);
    }
}
