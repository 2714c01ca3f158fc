package io.troupe.ops.it;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Troupe processes started from troupe.jar for integration tests, each logging to its own file. */
final class TroupeProcesses implements AutoCloseable {
    static final Path SHAKESPEARE = Path.of("../../shared/data/tinyshakespeare/input.txt");
    private static final Pattern LISTENING = Pattern.compile("listens on ([0-9.]+):(\\d+)");

    private final List<Process> processes = new ArrayList<>();

    /** Starts {@code troupe args...} with its output in {@code log}. */
    Process start(Path log, String... args) throws IOException {
        List<String> command = new ArrayList<>(List.of("java", "-Xmx1g", "-jar", System.getProperty("troupe.jar")));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        processes.add(p);
        return p;
    }

    /** The port a coordinator printed it listens on. */
    static String awaitPort(Path log, Process coordinator) throws Exception {
        return awaitMatch(log, coordinator, LISTENING, 60).group(2);
    }

    /** Waits until {@code pattern} appears in {@code log} while {@code process} runs. */
    static Matcher awaitMatch(Path log, Process process, Pattern pattern, int seconds) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (System.nanoTime() < deadline) {
            if (Files.exists(log)) {
                Matcher m = pattern.matcher(Files.readString(log, StandardCharsets.UTF_8));
                if (m.find()) {
                    return m;
                }
            }
            if (!process.isAlive()) {
                throw new AssertionError("process exited before printing /" + pattern + "/: " + tail(log));
            }
            Thread.sleep(100);
        }
        throw new AssertionError("/" + pattern + "/ never appeared: " + tail(log));
    }

    /** The last 30 lines of a log. */
    static String tail(Path log) {
        try {
            List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size()));
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    @Override
    public void close() {
        processes.forEach(Process::destroyForcibly);
    }
}
