package io.troupe.data.prepare;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;

/**
 * The most heap a run used: the JVM tracks each heap pool's peak since the last reset. The sum
 * of the pools' peaks is an upper bound of the peak of their sum (pools peak at different times).
 */
final class HeapPeak {

    private HeapPeak() {
    }

    /** Starts measuring: resets every heap pool's peak to its current use. */
    static void reset() {
        for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
            if (pool.getType() == MemoryType.HEAP) {
                pool.resetPeakUsage();
            }
        }
    }

    /** Sum of the heap pools' peak use since {@link #reset()}, in bytes. */
    static long bytes() {
        long sum = 0;
        for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
            if (pool.getType() == MemoryType.HEAP && pool.getPeakUsage() != null) {
                sum += pool.getPeakUsage().getUsed();
            }
        }
        return sum;
    }

    /** The heap limit (-Xmx). */
    static long max() {
        return Runtime.getRuntime().maxMemory();
    }
}
