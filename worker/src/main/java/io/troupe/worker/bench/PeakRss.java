package io.troupe.worker.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** This process's peak resident set size, as Linux reports it (VmHWM in /proc/self/status). */
public final class PeakRss {
    private PeakRss() {
    }

    /** The peak RSS in MiB so far, or -1 where /proc/self/status is missing (not Linux). */
    public static double mebibytes() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) {
                    String kib = line.substring("VmHWM:".length()).replace("kB", "").trim();
                    return Long.parseLong(kib) / 1024.0;
                }
            }
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
        return -1;
    }
}
