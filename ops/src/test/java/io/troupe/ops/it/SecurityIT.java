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
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
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
 * validation loss must be within 0.05 of an undisturbed run with the same seed.
 *
 * <p>It takes several minutes (two training runs and a coordinator resume), so it runs only when
 * asked: {@code -Dtroupe.attacks=true} (see docs/BENCHMARKS.md for the command).
 */
@EnabledIfSystemProperty(named = "troupe.attacks", matches = "true")
class SecurityIT extends ProcessTest {
    private static final int STEPS = 300;
    private static final int GLOBAL_BATCH = 12;
    private static final Duration WAIT = Duration.ofSeconds(3);
    // Joining over TLS took more than the default 30 s on this 2-core machine under a load of 25.
    private static final String JOIN_TIMEOUT = "180";
    // Under that load heartbeats were seen 1 s late and the split-brain resolver downed a whole calm
    // cluster as unstable; 5 s of acceptable pause keeps the cluster together and still removes a
    // worker stopped for 15 s.
    private static final String TOLERANT = "-Dpekko.cluster.failure-detector.acceptable-heartbeat-pause=5s";
    private static final int STOP_SECONDS = 15;
    private static final Pattern GENERATION = Pattern.compile("\"event\":\"ring\",\"generation\":(\\d+)");

    private static final Pattern CHECKPOINT = Pattern.compile("ckpt-(\\d+)\\.bin");

    private final Map<String, String> table = new LinkedHashMap<>();

    @Test
    void aTlsJobUnderAttackFinishesAsAnUndisturbedOne() throws Exception {
        Path secrets = secretInit("cluster");
        Path other = secretInit("other");

        Path calm = dir.resolve("calm");
        Process calmCoordinator = coordinator(calm, "calm", freePort(), secrets);
        String calmPort = TroupeProcesses.awaitPort(dir.resolve("calm.log"), calmCoordinator);
        for (int i = 0; i < 3; i++) {
            worker(calmPort, "calm-worker-" + i, secrets, List.of(TOLERANT));
        }
        assertFinished(calmCoordinator, dir.resolve("calm.log"));

        int port = freePort();
        Path run = dir.resolve("attacked");
        Path log = dir.resolve("attacked.log");
        Process coordinator = coordinator(run, "attacked", port, secrets);
        TroupeProcesses.awaitPort(log, coordinator);
        List<Process> workers = new ArrayList<>();
        for (String name : List.of("worker-a", "worker-b", "worker-c")) {
            // They outlive the coordinator's SIGKILL below until the resumed one (slow to start under load) is up.
            workers.add(worker(String.valueOf(port), name, secrets, List.of(TOLERANT,
                    "-Dtroupe.cluster.coordinator-wait=300s")));
        }
        TroupeProcesses.awaitStep(run, coordinator, 10, 300);
        long joinsBefore = count(run, "join");

        // 1, 3: a rogue that speaks the protocol, without TLS and with another cluster's certificate;
        // 6: a worker with another all-reduce chunk size. All three at once, while the ports are attacked.
        Process rogue = rogue("rogue-plain", port, List.of());
        Process stranger = rogue("rogue-other-cluster", port, List.of("--tls", other.toString()));
        Process misconfigured = processes.start(dir.resolve("misconfigured.log"),
                List.of("-Dtroupe.worker.data-plane.chunk-size=64KiB"), "worker", "--join", "127.0.0.1:" + port,
                "--threads", "1", "--tls", secrets.toString(), "--join-timeout", JOIN_TIMEOUT);

        attackEveryPort(secrets, other, run, coordinator, workers);
        flood(run, coordinator, workers);

        assertRefused(rogue, "rogue-plain");
        assertRefused(stranger, "rogue-other-cluster");
        assertEquals(joinsBefore, count(run, "join"), "a rogue node joined: " + TroupeProcesses.tail(log));
        table.put("1. rogue worker process without TLS joins", "refused: never a member, exits " + rogue.exitValue());
        table.put("1b. worker with another cluster's certificate joins", "refused: never a member, exits "
                + stranger.exitValue());
        assertTrue(misconfigured.waitFor(120, TimeUnit.SECONDS), "the misconfigured worker was not refused: "
                + TroupeProcesses.tail(dir.resolve("misconfigured.log")));
        String refusal = Files.readString(dir.resolve("misconfigured.log"));
        assertTrue(refusal.contains("coordinator refused this worker") && refusal.contains("chunk-size=65536"),
                TroupeProcesses.tail(dir.resolve("misconfigured.log")));
        assertTrue(coordinator.isAlive(), "the job died");
        table.put("6. worker with another chunk size", "refused at the door (\"chunk-size=65536 but ... 524288\"),"
                + " no ring formation spent");

        // 7: SIGSTOP one worker for 15 s, longer than the configured limit: it is removed, the rest go on.
        Process frozen = workers.get(0);
        signal(frozen, "STOP");
        long stoppedAt = System.nanoTime();
        TroupeProcesses.awaitMatch(log, coordinator, Pattern.compile("recovered: step \\d+ completed"), 90);
        double recovery = (System.nanoTime() - stoppedAt) / 1e9;
        Thread.sleep(Math.max(0, STOP_SECONDS * 1000L - TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - stoppedAt)));
        signal(frozen, "CONT");
        table.put("7. SIGSTOP one worker of three for " + STOP_SECONDS + " s", String.format(
                "the ring of two continued %.1f s after the stop; the job lives", recovery));

        // 8, 9: the coordinator is killed, the newest checkpoint is forged with a recomputed CRC, and
        // a resumed coordinator refuses it, falls back to the one before and keeps the fault history.
        TroupeProcesses.awaitStep(run, coordinator, 160, 600);
        coordinator.destroyForcibly();
        assertTrue(coordinator.waitFor(10, TimeUnit.SECONDS));
        Path forged = forgeNewestCheckpoint(run.resolve("checkpoints"));
        Path resumedLog = dir.resolve("resumed.log");
        Process resumed = processes.start(resumedLog, List.of(TOLERANT), "coordinator", "--bind", "127.0.0.1:" + port,
                "--resume",
                run.toString(), "--tls", secrets.toString());
        assertFinished(resumed, resumedLog);
        String resumedText = Files.readString(resumedLog);
        assertTrue(resumedText.contains(forged.getFileName().toString()) && resumedText.contains("signature check"),
                "the forged checkpoint was not refused: " + TroupeProcesses.tail(resumedLog));
        table.put("8. forged checkpoint with a recomputed CRC", "refused (\"fails its signature check\"); resumed"
                + " from the checkpoint before it");

        JsonNode summary = new ObjectMapper().readTree(run.resolve("summary.json").toFile());
        assertEquals(STEPS, summary.get("steps").asInt(), summary.toString());
        assertEquals((long) STEPS * GLOBAL_BATCH, summary.get("samples_consumed").asLong(), summary.toString());
        assertEquals(0, summary.get("samples_duplicated").asLong(), summary.toString());
        assertEquals(0, summary.get("samples_lost").asLong(), summary.toString());
        JsonNode history = summary.get("fault_history");
        assertEquals(1, history.get("coordinator_restarts").asInt(), summary.toString());
        assertTrue(history.get("failures").asInt() >= 1, "the SIGSTOP's failure was forgotten: " + summary);
        assertTrue(history.get("joins").asInt() >= 3, summary.toString());
        table.put("9. fault history after a coordinator resume", "kept: " + history);

        double calmLoss = new ObjectMapper().readTree(calm.resolve("summary.json").toFile()).get("final_val_loss")
                .asDouble();
        double attackedLoss = summary.get("final_val_loss").asDouble();
        table.put("final val loss, attacked vs undisturbed", String.format("%.4f vs %.4f (|Δ| = %.4f, goal ≤ 0.05)",
                attackedLoss, calmLoss, Math.abs(attackedLoss - calmLoss)));
        printTable();
        assertTrue(Math.abs(attackedLoss - calmLoss) <= 0.05, "val loss " + attackedLoss + " vs " + calmLoss);
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

    private void assertRefused(Process rogue, String name) throws Exception {
        assertTrue(rogue.waitFor(120, TimeUnit.SECONDS), name + " did not give up: "
                + TroupeProcesses.tail(dir.resolve(name + ".log")));
        assertNotEquals(0, rogue.exitValue(), name + " thinks it joined: " + TroupeProcesses.tail(dir.resolve(name
                + ".log")));
    }

    private void printTable() {
        StringBuilder out = new StringBuilder("\nSecurityIT: attack → outcome\n| attack | outcome |\n|---|---|\n");
        table.forEach((attack, outcome) -> out.append("| ").append(attack).append(" | ").append(outcome)
                .append(" |\n"));
        System.out.println(out);
    }

    private Path secretInit(String name) throws Exception {
        Path target = dir.resolve(name);
        Path log = dir.resolve("secret-" + name + ".log");
        Process init = processes.start(log, "secret", "init", target.toString());
        assertTrue(init.waitFor(60, TimeUnit.SECONDS) && init.exitValue() == 0, TroupeProcesses.tail(log));
        return target;
    }

    private Process coordinator(Path out, String name, int port, Path secrets) throws Exception {
        return processes.start(dir.resolve(name + ".log"), List.of(TOLERANT), "coordinator", "--bind",
                "127.0.0.1:" + port,
                "--workers", "3", "--max-workers", "3", "--data", TroupeProcesses.SHAKESPEARE.toString(), "--out",
                out.toString(), "--preset", "shakespeare-char-small", "--steps", String.valueOf(STEPS), "--seed",
                "1337", "--tls", secrets.toString(), "eval_iters=5", "eval_interval=50", "log_interval=1");
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

    private static void assertFinished(Process coordinator, Path log) throws Exception {
        assertTrue(coordinator.waitFor(600, TimeUnit.SECONDS), "coordinator did not finish: "
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
    // version 1, 3 bytes of padding, the step wanted (-1: any), the job id. What a fetch sends first.
    private static byte[] stateRequest(String jobId) {
        byte[] id = jobId.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(4 + 16 + id.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(16 + id.length).putInt('T' | 'R' << 8 | 'S' << 16 | 'T' << 24).put((byte) 1).put(new byte[3])
                .putLong(-1).put(id);
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
