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
    private static final Pattern STEP = Pattern.compile("\"step\"\\s*:\\s*(\\d+)");
    private static final Pattern LOCAL_PORT = Pattern.compile("^\\S+\\s+\\d+\\s+\\d+\\s+\\S+:(\\d+)\\s");

    private final List<Process> processes = new ArrayList<>();

    /** Starts {@code troupe args...} with its output in {@code log}. */
    Process start(Path log, String... args) throws IOException {
        return start(log, List.of(), args);
    }

    /** Starts {@code java jvmOptions... -jar troupe.jar args...} with its output in {@code log}. */
    Process start(Path log, List<String> jvmOptions, String... args) throws IOException {
        List<String> command = new ArrayList<>(List.of("java", "-Xmx1g"));
        command.addAll(jvmOptions);
        command.addAll(List.of("-jar", System.getProperty("troupe.jar")));
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

    /** Waits until the run's metrics log has reached {@code step} while {@code coordinator} runs. */
    static void awaitStep(Path out, Process coordinator, int step, int seconds) throws Exception {
        Path metrics = out.resolve("metrics.jsonl");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (System.nanoTime() < deadline) {
            if (lastStep(out) >= step) {
                return;
            }
            if (!coordinator.isAlive()) {
                throw new AssertionError("coordinator exited before step " + step);
            }
            Thread.sleep(50);
        }
        throw new AssertionError("step " + step + " was never reached (" + metrics + ")");
    }

    /** The last step in the run's metrics log, or 0 before the first. */
    static long lastStep(Path out) throws IOException {
        Path metrics = out.resolve("metrics.jsonl");
        if (!Files.exists(metrics)) {
            return 0;
        }
        List<String> lines = Files.readAllLines(metrics, StandardCharsets.UTF_8);
        for (int i = lines.size() - 1; i >= 0; i--) {
            Matcher m = STEP.matcher(lines.get(i));
            if (m.find()) {
                return Long.parseLong(m.group(1));
            }
        }
        return 0;
    }

    /** The TCP ports process {@code pid} listens on (from {@code ss -ltnpH}). */
    static List<Integer> listeningPorts(long pid) throws Exception {
        Process ss = new ProcessBuilder("ss", "-ltnpH").redirectErrorStream(true).start();
        String out = new String(ss.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        ss.waitFor(10, TimeUnit.SECONDS);
        List<Integer> ports = new ArrayList<>();
        for (String line : out.split("\n")) {
            if (line.contains("pid=" + pid + ",")) {
                Matcher m = LOCAL_PORT.matcher(line);
                if (m.find()) {
                    ports.add(Integer.parseInt(m.group(1)));
                }
            }
        }
        return ports;
    }

    /** The resident set size of process {@code pid}, in KiB ({@code VmRSS}), or -1 once it is gone. */
    static long rssKib(long pid) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("\\D", ""));
                }
            }
        } catch (IOException gone) {
            // ended meanwhile
        }
        return -1;
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
