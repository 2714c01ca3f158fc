package io.troupe.ops.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.troupe.ops.secret.Intruder;
import io.troupe.ops.secret.Intruder.Outcome;
import io.troupe.ops.secret.Intruder.Result;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.CRC32C;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * The attack suite of issue 16: a real {@code --tls} job (a coordinator and three worker
 * processes) is attacked while it trains, the way the security review attacked it, and each
 * outcome is asserted. At the end it prints a table attack → outcome, and the job's final
 * validation loss must be within 0.05 of an undisturbed run with the same seed and length.
 *
 * <p>The attacked run is open-ended: when the attacks are done, the suite SIGKILLs its coordinator,
 * forges the newest checkpoint, and resumes it with {@code --steps} a little past the step it had
 * reached; the undisturbed run then trains that many steps. Both set {@code lr_decay_iters}, so
 * the learning-rate schedule does not follow {@code --steps} and is the same in both. So the suite
 * reaches every phase however slow the machine is.
 *
 * <p>It takes several minutes, so it runs only when asked: {@code -Dtroupe.attacks=true} (see
 * docs/BENCHMARKS.md for the command). {@code -Dtroupe.attacks.phases=ports,flood,rogues,pause,leave}
 * runs only the attack phases named (all by default; the coordinator resume, phases 8 and 9, and
 * the comparison with an undisturbed run always run), {@code -Dtroupe.attacks.steps=N} sets the
 * least length of both runs (default 500), {@code -Dtroupe.attacks.keep=DIR} where the logs are kept.
 */
@EnabledIfSystemProperty(named = "troupe.attacks", matches = "true")
class SecurityIT extends ProcessTest {
    /** The least length of both runs; they are longer when the attacks take longer. */
    private static final int MIN_STEPS = Integer.getInteger("troupe.attacks.steps", 500);
    /** The attacked run's {@code --steps} until its resume gives it its length: never reached. */
    private static final int OPEN_ENDED = 1_000_000;
    /** The attack phases that can be chosen, in the order they run. */
    private static final List<String> PHASES = List.of("ports", "flood", "rogues", "pause", "leave");
    private static final java.util.Set<String> CHOSEN = chosenPhases();
    /**
     * What both runs set so that they end comparable whatever their length: the learning-rate
     * schedule (the preset's own), so that it does not follow --steps; a checkpoint every 50 steps;
     * and one evaluation only, at the last step, of 40 batches. With an evaluation of 5 batches
     * (of 12 x 32 tokens) every 50 steps, a 1,000-step pair ended 0.0515 apart (2.3764 attacked vs
     * 2.4279 undisturbed): too few batches for a 0.05 comparison. With one final evaluation, both
     * runs' eval samplers also start it from the same state (the resume restores it from the
     * checkpoint, which no evaluation has advanced).
     */
    private static final List<String> SCHEDULE = List.of("lr_decay_iters=2000", "warmup_iters=100",
            "checkpoint_interval=50", "eval_interval=" + OPEN_ENDED, "eval_iters=40");
    private static final int GLOBAL_BATCH = 12;
    private static final Duration WAIT = Duration.ofSeconds(3);
    // Joining over TLS took more than the default 30 s on this 2-core machine under a load of 25.
    private static final String JOIN_TIMEOUT = "180";
    /**
     * Test-only JVM options for every node of both runs; production defaults are untouched. At a
     * load of 45-56 on 2 cores, heartbeats were sent seconds late, reachability flapped and the
     * split-brain resolver downed a whole calm cluster as unstable ("SBR detected instability and
     * will down all nodes"). With 8 s of acceptable pause a second attempt at a load of 50-60 still
     * saw joining workers marked unreachable while they prepared the job, although no node's
     * heartbeat was sent more than 3.3 s late, and the resolver downed them as indirectly connected.
     * Here: a heartbeat a second, 20 s of acceptable pause (below the 30 s SIGSTOP, which must remove
     * the worker), no down-all on instability, stable-after 20 s; and less CPU of our own: the
     * serial collector and the C1 compiler only.
     */
    static final List<String> UNDER_LOAD = List.of(
            "-Dpekko.cluster.failure-detector.heartbeat-interval=1s",
            "-Dpekko.cluster.failure-detector.acceptable-heartbeat-pause=20s",
            "-Dpekko.cluster.split-brain-resolver.stable-after=20s",
            "-Dpekko.cluster.split-brain-resolver.down-all-when-unstable=off",
            "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1");
    /**
     * The smallest model that still shows learning within the run (val loss falls from 4.2): the
     * steps cost little CPU, so the cluster's heartbeats are not starved by our own training.
     */
    private static final List<String> TINY_MODEL = List.of("n_layer=1", "n_head=2", "n_embd=32", "block_size=32");
    private static final int STOP_SECONDS = 30;
    private static final Pattern GENERATION = Pattern.compile("\"event\":\"ring\",\"generation\":(\\d+)");

    private static final Pattern CHECKPOINT = Pattern.compile("ckpt-(\\d+)\\.bin");

    private final Map<String, String> table = new LinkedHashMap<>();
    /** When the misconfigured worker's process ended (this machine's local time, as its log's). */
    private volatile java.time.LocalTime misconfiguredExit;
    /** Each finished phase with its duration and the load average at its end. */
    private final List<String> timeline = new ArrayList<>();

    @Test
    void aTlsJobUnderAttackFinishesAsAnUndisturbedOne() throws Exception {
        try {
            attackAJob();
        } finally {
            keepLogs();
        }
    }

    private void attackAJob() throws Exception {
        Path secrets = phase("secret init (cluster)", 180, () -> secretInit("cluster"));
        Path other = phase("secret init (other cluster)", 180, () -> secretInit("other"));

        int port = freePort();
        Path run = dir.resolve("attacked");
        Path log = dir.resolve("attacked.log");
        List<Process> workers = new ArrayList<>();
        // Open-ended: the suite ends the run itself once the attacks are done (the coordinator resume below).
        Process coordinator = phase("attacked run: start, joins one by one, step 10", 900, () -> {
            Process c = coordinator(run, "attacked", port, secrets, OPEN_ENDED);
            TroupeProcesses.awaitPort(log, c);
            for (String name : List.of("worker-a", "worker-b", "worker-c")) {
                workers.add(attackedWorker(port, name, secrets));
                awaitReady(log, c, workers.size());
            }
            TroupeProcesses.awaitStep(run, c, 10, 840);
            return c;
        });

        // 1, 1b: a rogue that speaks the protocol, without TLS and with another cluster's certificate;
        // 6: a worker with another all-reduce chunk size. All three at once, while the ports are attacked.
        long joinsBefore = count(run, "join");
        List<Process> rogues = new ArrayList<>();
        if (CHOSEN.contains("rogues")) {
            rogues.add(rogue("rogue-plain", port, List.of()));
            rogues.add(rogue("rogue-other-cluster", port, List.of("--tls", other.toString())));
            Process misconfigured = processes.start(dir.resolve("misconfigured.log"),
                    with(UNDER_LOAD, "-Dtroupe.worker.data-plane.chunk-size=64KiB"), "worker", "--join",
                    "127.0.0.1:" + port, "--threads", "1", "--tls", secrets.toString(), "--join-timeout",
                    JOIN_TIMEOUT);
            misconfigured.onExit().thenRun(() -> misconfiguredExit = java.time.LocalTime.now());
            rogues.add(misconfigured);
        }
        if (CHOSEN.contains("ports")) {
            phase("attack every port", 600, () -> {
                requireRunning(coordinator, "the port attacks");
                attackEveryPort(secrets, other, run, coordinator, workers);
                return null;
            });
        }
        if (CHOSEN.contains("flood")) {
            phase("flood", 120, () -> {
                requireRunning(coordinator, "the flood");
                flood(run, coordinator, workers);
                return null;
            });
        }
        // Before the SIGSTOP: the stopped worker may come back as a new member, which would count as a join.
        if (CHOSEN.contains("rogues")) {
            phase("rogue and misconfigured workers refused", 300, () -> {
                assertRogueRefused(rogues.get(0), "rogue-plain");
                assertRogueRefused(rogues.get(1), "rogue-other-cluster");
                table.put("1. rogue worker process without TLS joins", "refused: never a member, exits "
                        + rogues.get(0).exitValue());
                table.put("1b. worker with another cluster's certificate joins", "refused: never a member, exits "
                        + rogues.get(1).exitValue());
                assertMisconfiguredRefused(rogues.get(2));
                assertEquals(joinsBefore, count(run, "join"), "a rogue node joined: " + TroupeProcesses.tail(log));
                assertTrue(coordinator.isAlive(), "the job died");
                return null;
            });
        }

        // 7: SIGSTOP one worker for longer than the acceptable heartbeat pause: it is removed, the rest go on.
        if (CHOSEN.contains("pause")) {
            phase("SIGSTOP one worker for " + STOP_SECONDS + " s", 240, () -> {
                requireRunning(coordinator, "the SIGSTOP");
                Process frozen = workers.get(0);
                signal(frozen, "STOP");
                long stoppedAt = System.nanoTime();
                try {
                    TroupeProcesses.awaitMatch(log, coordinator, Pattern.compile("recovered: step \\d+ completed"),
                            180);
                } finally {
                    Thread.sleep(Math.max(0, STOP_SECONDS * 1000L
                            - TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - stoppedAt)));
                    signal(frozen, "CONT");
                }
                double recovery = (System.nanoTime() - stoppedAt) / 1e9;
                table.put("7. SIGSTOP one worker of three for " + STOP_SECONDS + " s", String.format(
                        "the ring of two continued %.1f s after the stop; the job lives", recovery));
                return null;
            });
        }

        // A graceful leave and a join, so that the fault history the resume must keep has every kind of event.
        if (CHOSEN.contains("leave")) {
            phase("a worker leaves (SIGTERM), another joins", 600, () -> {
                requireRunning(coordinator, "the leave");
                long leaves = count(run, "leave");
                long joins = count(run, "join");
                Process leaving = workers.get(workers.size() - 1);
                signal(leaving, "TERM");
                assertTrue(leaving.waitFor(300, TimeUnit.SECONDS), "the worker did not leave: "
                        + TroupeProcesses.tail(dir.resolve("worker-c.log")));
                assertEquals(leaves + 1, count(run, "leave"), "no leave event: " + TroupeProcesses.tail(log));
                workers.add(attackedWorker(port, "worker-d", secrets));
                awaitCount(run, coordinator, "join", joins + 1, 300);
                table.put("13. a worker leaves (SIGTERM), another joins", "left at a step boundary (exit "
                        + leaving.exitValue() + "), the newcomer was admitted; the job lives");
                return null;
            });
        }

        // 8: the coordinator is killed when the attacks are done, its newest checkpoint is forged with a
        // recomputed CRC, and a resumed coordinator refuses it, falls back to the one before and trains
        // the run to its end: the suite chooses that length now, so the run outlasts the attacks.
        List<String> eventsBefore = new ArrayList<>();
        long[] fallback = new long[1];
        int[] finalSteps = new int[1];
        Path forged = phase("SIGKILL the coordinator, forge its newest checkpoint", 900, () -> {
            // Two checkpoints at least (every 50 steps), so that a good one is left to fall back to.
            int killAt = (int) Math.max(110, TroupeProcesses.lastStep(run) + 1);
            TroupeProcesses.awaitStep(run, coordinator, killAt, 840);
            coordinator.destroyForcibly();
            assertTrue(coordinator.waitFor(10, TimeUnit.SECONDS));
            eventsBefore.addAll(completeLines(run.resolve("events.jsonl")));
            long killedAt = TroupeProcesses.lastStep(run);
            finalSteps[0] = (int) Math.max(MIN_STEPS, (killedAt / 50 + 1) * 50 + 100);
            List<Long> steps = checkpointSteps(run.resolve("checkpoints"));
            assertTrue(steps.size() >= 2, "no older checkpoint to fall back to: " + steps);
            fallback[0] = steps.get(1);
            return forgeNewestCheckpoint(run.resolve("checkpoints"));
        });
        Path resumedLog = dir.resolve("resumed.log");
        phase("resumed coordinator trains to step " + finalSteps[0], 1500, () -> {
            Process resumed = processes.start(resumedLog, UNDER_LOAD, "coordinator", "--bind", "127.0.0.1:" + port,
                    "--resume", run.toString(), "--steps", String.valueOf(finalSteps[0]), "--tls", secrets.toString());
            assertFinished(resumed, resumedLog, 1400);
            return null;
        });
        String resumedText = Files.readString(resumedLog);
        assertTrue(resumedText.contains(forged.getFileName() + " fails its signature check"),
                "the forged checkpoint was not refused: " + TroupeProcesses.tail(resumedLog));
        assertTrue(resumedText.contains("from the checkpoint of step " + fallback[0]),
                "not resumed from the good checkpoint before the forged one (step " + fallback[0] + "): "
                        + TroupeProcesses.tail(resumedLog));
        table.put("8. forged checkpoint with a recomputed CRC", "refused (\"" + forged.getFileName()
                + " fails its signature check\"); resumed from step " + fallback[0] + ", the good one before it");

        // 9: the fault history from before the resume is still there, in events.jsonl and summary.json.
        List<String> eventsAfter = Files.readAllLines(run.resolve("events.jsonl"));
        assertTrue(eventsAfter.size() > eventsBefore.size()
                        && eventsAfter.subList(0, eventsBefore.size()).equals(eventsBefore),
                "events.jsonl lost or changed events from before the resume");
        JsonNode summary = new ObjectMapper().readTree(run.resolve("summary.json").toFile());
        assertEquals(finalSteps[0], summary.get("steps").asInt(), summary.toString());
        assertEquals((long) finalSteps[0] * GLOBAL_BATCH, summary.get("samples_consumed").asLong(), summary.toString());
        assertEquals(0, summary.get("samples_duplicated").asLong(), summary.toString());
        assertEquals(0, summary.get("samples_lost").asLong(), summary.toString());
        JsonNode history = summary.get("fault_history");
        assertEquals(1, history.get("coordinator_restarts").asInt(), summary.toString());
        for (String kind : List.of("join", "leave", "failure")) {
            long before = eventsBefore.stream().filter(l -> l.contains("\"event\":\"" + kind + "\"")).count();
            long reported = history.get(kind.equals("failure") ? "failures" : kind + "s").asLong();
            assertTrue(reported >= before, kind + " events before the resume: " + before + ", summary: " + summary);
        }
        assertTrue(history.get("joins").asInt() >= 3, summary.toString());
        if (CHOSEN.contains("pause")) {
            assertTrue(history.get("failures").asInt() >= 1, "the SIGSTOP's failure was forgotten: " + summary);
        }
        if (CHOSEN.contains("leave")) {
            assertTrue(history.get("leaves").asInt() >= 1, "the leave was forgotten: " + summary);
        }
        table.put("9. fault history after a coordinator resume", "kept: events.jsonl keeps its " + eventsBefore.size()
                + " events from before the resume; summary.json's fault_history " + history);

        // The goal: the attacked run ends as an undisturbed run of the same length and seed does.
        Path calm = dir.resolve("calm");
        phase("undisturbed run (" + finalSteps[0] + " steps)", 1500, () -> {
            Process calmCoordinator = coordinator(calm, "calm", freePort(), secrets, finalSteps[0]);
            String calmPort = TroupeProcesses.awaitPort(dir.resolve("calm.log"), calmCoordinator);
            for (int i = 0; i < 3; i++) {
                worker(calmPort, "calm-worker-" + i, secrets, UNDER_LOAD);
                awaitReady(dir.resolve("calm.log"), calmCoordinator, i + 1);
            }
            assertFinished(calmCoordinator, dir.resolve("calm.log"), 1400);
            return null;
        });
        JsonNode calmSummary = new ObjectMapper().readTree(calm.resolve("summary.json").toFile());
        assertEquals(finalSteps[0], calmSummary.get("steps").asInt(), calmSummary.toString());
        double calmLoss = calmSummary.get("final_val_loss").asDouble();
        double attackedLoss = summary.get("final_val_loss").asDouble();
        table.put("final val loss after " + finalSteps[0] + " steps, attacked vs undisturbed", String.format(
                "%.4f vs %.4f (|Δ| = %.4f, goal ≤ 0.05)", attackedLoss, calmLoss, Math.abs(attackedLoss - calmLoss)));
        printTable();
        assertTrue(Math.abs(attackedLoss - calmLoss) <= 0.05, "val loss " + attackedLoss + " vs " + calmLoss);
    }

    /** A worker of the attacked run; it outlives the coordinator's SIGKILL until the resumed one (slow to start under load) is up. */
    private Process attackedWorker(int port, String name, Path secrets) throws Exception {
        return worker(String.valueOf(port), name, secrets, with(UNDER_LOAD, "-Dtroupe.cluster.coordinator-wait=300s"));
    }

    /**
     * 6: the coordinator refuses the worker at the door, and the worker's process ends at once with
     * the reason and a non-zero exit, while the job goes on (before, it stayed a cluster member
     * until the job ended).
     */
    private void assertMisconfiguredRefused(Process misconfigured) throws Exception {
        Path misconfiguredLog = dir.resolve("misconfigured.log");
        assertTrue(misconfigured.waitFor(180, TimeUnit.SECONDS), "the misconfigured worker is still running: "
                + TroupeProcesses.tail(misconfiguredLog));
        String refusal = Files.readString(misconfiguredLog);
        assertNotEquals(0, misconfigured.exitValue(), TroupeProcesses.tail(misconfiguredLog));
        Matcher reason = Pattern.compile("troupe: the coordinator at \\S+ refused this worker: [^\n]*chunk-size=65536"
                + "[^\n]*").matcher(refusal);
        assertTrue(reason.find(), TroupeProcesses.tail(misconfiguredLog));
        // How long the refused process took to end: from its log's refusal line to its exit, to the second.
        Matcher refusedAt = Pattern.compile("(\\d\\d:\\d\\d:\\d\\d) ERROR .*coordinator refused this worker")
                .matcher(refusal);
        String after = refusedAt.find() && misconfiguredExit != null ? String.format(" %d s after the refusal",
                Duration.between(java.time.LocalTime.parse(refusedAt.group(1)), misconfiguredExit).toSeconds()) : "";
        table.put("6. worker with another chunk size", "refused at the door, no ring formation spent; the worker exits "
                + misconfigured.exitValue() + after + " (\"" + reason.group().substring(0, Math.min(110,
                reason.group().length())) + "...\")");
    }

    /** Waits until the run's events.jsonl has {@code n} events of {@code kind} while the coordinator runs. */
    private static void awaitCount(Path run, Process coordinator, String kind, long n, int seconds) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (count(run, kind) < n) {
            assertTrue(coordinator.isAlive(), "the coordinator died");
            assertTrue(System.nanoTime() < deadline, "fewer than " + n + " " + kind + " events after " + seconds + " s");
            Thread.sleep(200);
        }
    }

    /** The lines of a file that end with a newline (a SIGKILL may leave the last one torn). */
    private static List<String> completeLines(Path file) throws Exception {
        String text = Files.readString(file);
        List<String> lines = new ArrayList<>(List.of(text.split("\n", -1)));
        lines.remove(lines.size() - 1); // after the last newline: empty, or a torn line
        return lines;
    }

    /** The steps of the run's checkpoints, newest first. */
    private static List<Long> checkpointSteps(Path checkpoints) throws Exception {
        try (Stream<Path> files = Files.list(checkpoints)) {
            return files.map(SecurityIT::stepOf).filter(s -> s >= 0).sorted(Comparator.reverseOrder()).toList();
        }
    }

    /**
     * Waits until the coordinator has {@code n} workers ready before the next is started (not for
     * the last: the job starts instead). Workers started together on a loaded machine marked each
     * other unreachable while they started and prepared, and the resolver downed them (runs 2 and 3
     * in docs/BENCHMARKS.md); one at a time, only one JVM is in that state.
     */
    private static void awaitReady(Path log, Process coordinator, int n) throws Exception {
        if (n < 3) {
            TroupeProcesses.awaitMatch(log, coordinator, Pattern.compile(n + " of 3 worker\\(s\\) ready"), 300);
        }
    }

    /** Fails at once, naming the attack, when the attacked run's coordinator is gone before it. */
    private static void requireRunning(Process coordinator, String attack) {
        assertTrue(coordinator.isAlive(), "the attacked run's coordinator exited before " + attack);
    }

    private static java.util.Set<String> chosenPhases() {
        String chosen = System.getProperty("troupe.attacks.phases", "");
        if (chosen.isBlank()) {
            return java.util.Set.copyOf(PHASES);
        }
        java.util.Set<String> phases = new java.util.HashSet<>();
        for (String phase : chosen.split(",")) {
            if (!PHASES.contains(phase.strip())) {
                throw new IllegalArgumentException("-Dtroupe.attacks.phases: unknown phase '" + phase + "'; choose from "
                        + PHASES);
            }
            phases.add(phase.strip());
        }
        return phases;
    }

    /**
     * Runs one phase of the suite with its own deadline. When it fails or overruns, prints what
     * explains it: the phases so far with their durations and the load, and per log the cluster's
     * verdicts (unreachable, downed, SBR) and its last lines.
     */
    private <T> T phase(String name, int seconds, Callable<T> body) throws Exception {
        long start = System.nanoTime();
        ExecutorService runner = Executors.newSingleThreadExecutor();
        Future<T> running = runner.submit(body);
        try {
            T result = running.get(seconds, TimeUnit.SECONDS);
            timeline.add(String.format("%-55s %7.1f s  (load %s)", name, (System.nanoTime() - start) / 1e9, load()));
            return result;
        } catch (TimeoutException e) {
            running.cancel(true);
            throw diagnosed(name, new AssertionError("phase '" + name + "' overran its " + seconds + " s"));
        } catch (ExecutionException e) {
            throw diagnosed(name, e.getCause());
        } finally {
            runner.shutdownNow();
        }
    }

    private static final Pattern CLUSTER_VERDICT = Pattern.compile(
            "(?i)unreachable|downing|down all|SBR|heartbeat|Leader is removing|refused|ERROR|Exception|re-forming");

    private AssertionError diagnosed(String phase, Throwable failure) {
        StringBuilder out = new StringBuilder("\nSecurityIT failed in phase '").append(phase).append("' (load ")
                .append(load()).append(")\nphases so far:\n");
        timeline.forEach(t -> out.append("  ").append(t).append('\n'));
        out.append("attacks so far:\n");
        table.forEach((attack, outcome) -> out.append("  ").append(attack).append(" -> ").append(outcome).append('\n'));
        try (Stream<Path> logs = Files.list(dir)) {
            for (Path l : logs.filter(p -> p.toString().endsWith(".log")).sorted().toList()) {
                List<String> lines = Files.readAllLines(l, StandardCharsets.UTF_8);
                List<String> verdicts = lines.stream().filter(x -> CLUSTER_VERDICT.matcher(x).find()).toList();
                out.append("--- ").append(l.getFileName()).append(": ").append(lines.size())
                        .append(" lines; cluster verdicts (last 12):\n");
                verdicts.subList(Math.max(0, verdicts.size() - 12), verdicts.size())
                        .forEach(x -> out.append("    ").append(x).append('\n'));
                out.append("  last lines:\n");
                lines.subList(Math.max(0, lines.size() - 8), lines.size())
                        .forEach(x -> out.append("    ").append(x).append('\n'));
            }
        } catch (Exception e) {
            out.append("(logs unreadable: ").append(e).append(")\n");
        }
        System.out.println(out);
        return new AssertionError("phase '" + phase + "': " + failure.getMessage() + " (diagnosis on stdout)", failure);
    }

    private static String load() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).split(" ")[0];
        } catch (Exception e) {
            return "?";
        }
    }

    /**
     * Copies the logs, events and summaries (not the checkpoints) to {@code -Dtroupe.attacks.keep}
     * (default target/security-it), since the temporary directory is deleted after the test.
     */
    private void keepLogs() {
        Path keep = Path.of(System.getProperty("troupe.attacks.keep", "target/security-it"));
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                String name = f.getFileName().toString();
                if (name.endsWith(".log") || name.endsWith(".jsonl") || name.equals("summary.json")) {
                    Path to = keep.resolve(dir.relativize(f));
                    Files.createDirectories(to.getParent());
                    Files.copy(f, to, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                }
            }
            Files.writeString(keep.resolve("phases.txt"), String.join("\n", timeline) + "\n");
            // What was asserted so far (all of it when the suite passed): attack -> outcome.
            StringBuilder outcomes = new StringBuilder("| attack | outcome |\n|---|---|\n");
            table.forEach((attack, outcome) -> outcomes.append("| ").append(attack).append(" | ").append(outcome)
                    .append(" |\n"));
            Files.writeString(keep.resolve("table.md"), outcomes);
            System.out.println("SecurityIT: logs kept in " + keep.toAbsolutePath());
        } catch (Exception e) {
            System.out.println("SecurityIT: could not keep the logs: " + e);
        }
    }

    private static List<String> with(List<String> options, String... more) {
        List<String> all = new ArrayList<>(options);
        all.addAll(List.of(more));
        return all;
    }

    /**
     * 2, 3, 4, 5 and the insider attacks: every port the coordinator and the workers listen on
     * (Artery, ring, state server) gets plain bytes, a lying Artery frame header, TLS without a
     * certificate and with another cluster's; a holder of the cluster certificate replays an old
     * generation's ring preamble and claims a ring position with a made-up token.
     */
    private void attackEveryPort(Path secrets, Path other, Path run, Process coordinator, List<Process> workers)
            throws Exception {
        List<Integer> coordinatorPorts = TroupeProcesses.listeningPorts(coordinator.pid());
        List<Integer> workerPorts = new ArrayList<>();
        for (Process w : workers) {
            workerPorts.addAll(TroupeProcesses.listeningPorts(w.pid()));
        }
        assertTrue(workerPorts.size() >= 6, "each worker listens on Artery, a ring and a state port: " + workerPorts);
        List<Integer> all = new ArrayList<>(coordinatorPorts);
        all.addAll(workerPorts);
        SSLContext none = Intruder.withoutCertificate(secrets);
        SSLContext stranger = Intruder.member(other);
        SSLContext member = Intruder.member(secrets);
        byte[] stateRequest = stateRequest(jobId(run));
        for (int port : all) {
            InetSocketAddress to = new InetSocketAddress("127.0.0.1", port);
            assertDropped(Intruder.plain(to, stateRequest, 0, WAIT), "plain state request", port);
            assertDropped(Intruder.plain(to, Intruder.arteryFrameHeader(Integer.MAX_VALUE), 4 << 20, WAIT),
                    "2 GiB Artery frame header + 4 MiB", port);
            assertDropped(Intruder.plain(to, Intruder.ringPreamble(1, "0".repeat(32)), 0, WAIT), "plain preamble", port);
            assertDropped(Intruder.tls(to, none, stateRequest, WAIT), "TLS without a certificate", port);
            assertDropped(Intruder.tls(to, stranger, stateRequest, WAIT), "TLS of another cluster", port);
        }
        // The control: the cluster's own certificate is let in, so the drops above are the
        // certificate checks at work (red when mutual authentication is off: see TlsClusterJoinTest).
        Result admitted = Intruder.tls(new InetSocketAddress("127.0.0.1", coordinatorPorts.get(0)), member, new byte[0],
                WAIT);
        assertEquals(Outcome.HELD_OPEN, admitted.outcome(), "a member's TLS connection is held open");
        table.put("2. fetch the state without the cluster certificate", "dropped on every port ("
                + all.size() + " ports, plain and TLS without/with another cluster's certificate), 0 bytes");
        table.put("3. plain-text connection to Artery, ring, state", "dropped (TLS on every plane); a member's"
                + " certificate is held open");
        table.put("4. Artery frame header declaring 2 GiB + 4 MiB filler", "dropped by the TLS engine before"
                + " Artery's framing; the job lives");
        table.put("5. connect to a ring port without the certificate", "dropped at the TLS handshake");

        long generation = currentGeneration(run);
        for (int port : workerPorts) {
            InetSocketAddress to = new InetSocketAddress("127.0.0.1", port);
            assertDropped(Intruder.tls(to, member, Intruder.ringPreamble(1, "a".repeat(32)), WAIT),
                    "old generation's preamble with the cluster certificate", port);
            assertDropped(Intruder.tls(to, member, Intruder.ringPreamble(generation, "b".repeat(32)), WAIT),
                    "current generation, made-up token, with the cluster certificate", port);
        }
        table.put("10. replay of generation 1's ring preamble (insider with the certificate)",
                "dropped by the predecessor gate on every worker port; the ring is undisturbed");
        table.put("11. claim a ring position in generation " + generation + " with a made-up token (insider)",
                "dropped; the ring's ranks come only from the coordinator's token");
        assertTrue(coordinator.isAlive(), "the coordinator died");
    }

    /** 12: 20 s of connections to every port from 4 threads; the job trains on and memory stays bounded. */
    private void flood(Path run, Process coordinator, List<Process> workers) throws Exception {
        List<Long> pids = new ArrayList<>(List.of(coordinator.pid()));
        workers.forEach(w -> pids.add(w.pid()));
        List<Integer> ports = new ArrayList<>();
        for (long pid : pids) {
            ports.addAll(TroupeProcesses.listeningPorts(pid));
        }
        long[] before = pids.stream().mapToLong(TroupeProcesses::rssKib).toArray();
        long[] peak = before.clone();
        long stepBefore = TroupeProcesses.lastStep(run);
        AtomicBoolean flooding = new AtomicBoolean(true);
        AtomicLong connections = new AtomicLong();
        AtomicLong bytes = new AtomicLong();
        ExecutorService threads = Executors.newFixedThreadPool(4);
        for (int t = 0; t < 4; t++) {
            threads.submit(() -> {
                ThreadLocalRandom random = ThreadLocalRandom.current();
                while (flooding.get()) {
                    InetSocketAddress to = new InetSocketAddress("127.0.0.1", ports.get(random.nextInt(ports.size())));
                    byte[] first = random.nextBoolean() ? Intruder.arteryFrameHeader(random.nextInt(Integer.MAX_VALUE))
                            : randomBytes(random, 1 + random.nextInt(4096));
                    int filler = random.nextInt(1 << 20);
                    Intruder.plain(to, first, filler, Duration.ofMillis(500));
                    connections.incrementAndGet();
                    bytes.addAndGet(first.length + filler);
                }
                return null;
            });
        }
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (System.nanoTime() < end) {
            for (int i = 0; i < pids.size(); i++) {
                peak[i] = Math.max(peak[i], TroupeProcesses.rssKib(pids.get(i)));
            }
            Thread.sleep(250);
        }
        flooding.set(false);
        threads.shutdown();
        assertTrue(threads.awaitTermination(30, TimeUnit.SECONDS));
        long stepAfter = TroupeProcesses.lastStep(run);
        assertTrue(coordinator.isAlive(), "the flood killed the coordinator");
        assertTrue(stepAfter > stepBefore, "no step during the flood");
        StringBuilder rss = new StringBuilder();
        for (int i = 0; i < pids.size(); i++) {
            // -Xmx1g: a frame buffered without bound would end in an OutOfMemoryError, not here.
            assertTrue(peak[i] - before[i] < 512 * 1024, "RSS of pid " + pids.get(i) + " grew by "
                    + (peak[i] - before[i]) + " KiB");
            rss.append(i == 0 ? "coordinator " : ", worker ").append(before[i] / 1024).append("→")
                    .append(peak[i] / 1024).append(" MiB");
        }
        table.put("12. flood: " + connections.get() + " connections, " + bytes.get() / (1 << 20)
                + " MiB of garbage and lying frame headers in 20 s", "job trained on (steps " + stepBefore + "→"
                + stepAfter + "); peak RSS " + rss);
    }

    private void assertDropped(Result result, String what, int port) {
        assertEquals(Outcome.DROPPED, result.outcome(), what + " to port " + port + " was held open");
        assertTrue(result.bytesReceived() < 1024, what + " to port " + port + " got " + result.bytesReceived()
                + " bytes back");
    }

    private void assertRogueRefused(Process rogue, String name) throws Exception {
        assertTrue(rogue.waitFor(120, TimeUnit.SECONDS), name + " did not give up: "
                + TroupeProcesses.tail(dir.resolve(name + ".log")));
        assertNotEquals(0, rogue.exitValue(), name + " thinks it joined: " + TroupeProcesses.tail(dir.resolve(name
                + ".log")));
    }

    private void printTable() {
        StringBuilder out = new StringBuilder("\nSecurityIT: attack → outcome\n| attack | outcome |\n|---|---|\n");
        table.forEach((attack, outcome) -> out.append("| ").append(attack).append(" | ").append(outcome)
                .append(" |\n"));
        out.append("\nphases:\n");
        timeline.forEach(t -> out.append("  ").append(t).append('\n'));
        System.out.println(out);
    }

    private Path secretInit(String name) throws Exception {
        Path target = dir.resolve(name);
        Path log = dir.resolve("secret-" + name + ".log");
        Process init = processes.start(log, "secret", "init", target.toString());
        assertTrue(init.waitFor(60, TimeUnit.SECONDS) && init.exitValue() == 0, TroupeProcesses.tail(log));
        return target;
    }

    private Process coordinator(Path out, String name, int port, Path secrets, int steps) throws Exception {
        List<String> args = new ArrayList<>(List.of("coordinator", "--bind", "127.0.0.1:" + port,
                "--workers", "3", "--max-workers", "3", "--data", TroupeProcesses.SHAKESPEARE.toString(), "--out",
                out.toString(), "--preset", "shakespeare-char-small", "--steps", String.valueOf(steps), "--seed",
                "1337", "--tls", secrets.toString(), "log_interval=1"));
        args.addAll(TINY_MODEL);
        args.addAll(SCHEDULE);
        return processes.start(dir.resolve(name + ".log"), UNDER_LOAD, args.toArray(String[]::new));
    }

    private Process worker(String port, String name, Path secrets, List<String> jvmOptions) throws Exception {
        return processes.start(dir.resolve(name + ".log"), jvmOptions, "worker", "--join", "127.0.0.1:" + port,
                "--threads", "1", "--tls", secrets.toString(), "--join-timeout", JOIN_TIMEOUT);
    }

    private Process rogue(String name, int port, List<String> tls) throws Exception {
        List<String> args = new ArrayList<>(List.of("worker", "--join", "127.0.0.1:" + port, "--threads", "1",
                "--join-timeout", "15"));
        args.addAll(tls);
        return processes.start(dir.resolve(name + ".log"), args.toArray(String[]::new));
    }

    private static void assertFinished(Process coordinator, Path log, int seconds) throws Exception {
        assertTrue(coordinator.waitFor(seconds, TimeUnit.SECONDS), "coordinator did not finish: "
                + TroupeProcesses.tail(log));
        assertEquals(0, coordinator.exitValue(), "coordinator failed: " + TroupeProcesses.tail(log));
    }

    private static int freePort() throws Exception {
        try (ServerSocket probe = new ServerSocket(0)) {
            return probe.getLocalPort();
        }
    }

    private static void signal(Process p, String signal) throws Exception {
        Process kill = new ProcessBuilder("kill", "-" + signal, String.valueOf(p.pid())).inheritIO().start();
        assertTrue(kill.waitFor(10, TimeUnit.SECONDS) && kill.exitValue() == 0, "kill -" + signal + " failed");
    }

    private static long count(Path run, String event) throws Exception {
        try (Stream<String> lines = Files.lines(run.resolve("events.jsonl"))) {
            return lines.filter(l -> l.contains("\"event\":\"" + event + "\"")).count();
        }
    }

    private static long currentGeneration(Path run) throws Exception {
        long generation = -1;
        for (String line : Files.readAllLines(run.resolve("events.jsonl"))) {
            Matcher m = GENERATION.matcher(line);
            if (m.find()) {
                generation = Long.parseLong(m.group(1));
            }
        }
        assertTrue(generation > 0, "no ring event");
        return generation;
    }

    private static String jobId(Path run) throws Exception {
        return new ObjectMapper().readTree(run.resolve("job.json").toFile()).get("job_id").asText();
    }

    // The state protocol's request (TransferProtocol.request, little-endian): length, magic "TRST",
    // version 2, 3 bytes of padding, the step wanted (-1: any), no token, the job id. What a fetch sends first.
    private static byte[] stateRequest(String jobId) {
        byte[] id = jobId.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(4 + 18 + id.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(18 + id.length).putInt('T' | 'R' << 8 | 'S' << 16 | 'T' << 24).put((byte) 2).put(new byte[3])
                .putLong(-1).putShort((short) 0).put(id);
        return b.array();
    }

    private static long stepOf(Path checkpoint) {
        Matcher m = CHECKPOINT.matcher(checkpoint.getFileName().toString());
        return m.matches() ? Long.parseLong(m.group(1)) : -1;
    }

    private static byte[] randomBytes(ThreadLocalRandom random, int n) {
        byte[] b = new byte[n];
        random.nextBytes(b);
        return b;
    }

    /**
     * Flips a parameter bit of the newest checkpoint and rewrites its CRC32C over header and
     * payload, as a forger with write access to the run directory would (format: 64-byte header,
     * payload, CRC32C trailer, then the 32-byte HMAC when signed).
     */
    private static Path forgeNewestCheckpoint(Path checkpoints) throws Exception {
        Path newest;
        try (Stream<Path> files = Files.list(checkpoints)) {
            newest = files.filter(f -> CHECKPOINT.matcher(f.getFileName().toString()).matches())
                    .max(Comparator.comparingLong(SecurityIT::stepOf))
                    .orElseThrow();
        }
        byte[] bytes = Files.readAllBytes(newest);
        bytes[64 + 500] ^= 0x40;
        int covered = bytes.length - Integer.BYTES - 32;
        CRC32C crc = new CRC32C();
        crc.update(bytes, 0, covered);
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putInt(covered, (int) crc.getValue());
        Files.write(newest, bytes);
        return newest;
    }
}
