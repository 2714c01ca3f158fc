import io.troupe.ops.dashboard.DashboardServer;
import io.troupe.ops.dashboard.DashboardState;
import io.troupe.worker.run.TrainListener.StepStats;
import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;

/**
 * The CPU the dashboard's own threads take per second of wall time, without training around it:
 * a {@link DashboardServer} on a {@link DashboardState} fed STEPS_PER_S steps a second by a
 * stand-in training thread, with one SSE client reading /events for SECONDS. Per thread (by
 * name) the CPU time from ThreadMXBean, and the total in ms per wall second: divided by
 * (cores x 1000 ms) it is the share of a machine whose cores training keeps busy.
 *
 * <p>{@code java -cp ops/target/troupe.jar bench/DashboardThreads.java [SECONDS=60] [STEPS_PER_S=40]}
 */
public final class DashboardThreads {
    public static void main(String[] args) throws Exception {
        int seconds = args.length > 0 ? Integer.parseInt(args[0]) : 60;
        int stepsPerSecond = args.length > 1 ? Integer.parseInt(args[1]) : 40;
        DashboardState state = new DashboardState(Path.of("/nonexistent/events.jsonl"), Clock.systemUTC());
        state.onStart(0, 1_000_000, 800_000);
        try (DashboardServer server = DashboardServer.start("127.0.0.1", 0, state, null, Duration.ofSeconds(1))) {
            Thread client = new Thread(() -> read(server.port()), "bench-sse-client");
            client.setDaemon(true);
            client.start();
            Thread.sleep(5_000); // start-up and the first messages: not what a step pays for
            ThreadMXBean mx = ManagementFactory.getThreadMXBean();
            Map<String, Long> before = dashboardCpu(mx);
            long start = System.nanoTime();
            long step = 0;
            long period = 1_000_000_000L / stepsPerSecond;
            while (System.nanoTime() - start < seconds * 1_000_000_000L) {
                step++;
                state.onStep(new StepStats(step, 1_000_000, 2.0, 1e-3, 1.0, 30_000.0, 27.0, 0.01, 1, 0.0, 0L));
                long next = start + step * period;
                long wait = next - System.nanoTime();
                if (wait > 0) {
                    Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
                }
            }
            double wall = (System.nanoTime() - start) / 1e9;
            Map<String, Long> after = dashboardCpu(mx);
            long total = 0;
            for (Map.Entry<String, Long> e : after.entrySet()) {
                long d = e.getValue() - before.getOrDefault(e.getKey(), 0L);
                total += d;
                System.out.printf("  %-60s %8.1f ms%n", e.getKey(), d / 1e6);
            }
            System.out.printf("dashboard_threads_ms_per_wall_s %.3f (%.1f s, %d steps, %d cores)%n",
                    total / 1e6 / wall, wall, step, Runtime.getRuntime().availableProcessors());
        }
    }

    private static Map<String, Long> dashboardCpu(ThreadMXBean mx) {
        Map<String, Long> cpu = new TreeMap<>();
        for (ThreadInfo info : mx.getThreadInfo(mx.getAllThreadIds())) {
            if (info != null && info.getThreadName().startsWith("troupe-dashboard")) {
                cpu.merge(info.getThreadName(), Math.max(0, mx.getThreadCpuTime(info.getThreadId())), Long::sum);
            }
        }
        return cpu;
    }

    private static void read(int port) {
        try {
            HttpResponse<InputStream> r = HttpClient.newHttpClient().send(
                    HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/events")).build(),
                    HttpResponse.BodyHandlers.ofInputStream());
            try (InputStream in = r.body()) {
                byte[] buf = new byte[8192];
                while (in.read(buf) >= 0) {
                    // discard: a client that keeps up
                }
            }
        } catch (Exception e) {
            // the server closing ends the stream
        }
    }
}
