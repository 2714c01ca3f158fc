package io.troupe.ops.cli;

import static io.troupe.ops.cli.CliRun.TEXT;
import static io.troupe.ops.cli.CliRun.trainTiny;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.function.Function;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import io.troupe.ops.dashboard.HeadlessChromium;
import org.openqa.selenium.By;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;

/**
 * The dashboard in a real browser: Debian's headless Chromium, driven by Selenium through
 * /usr/bin/chromedriver, watches an embedded 2-worker run. Skipped (loudly) only when
 * chromedriver is not installed; {@code .ci/run} installs it.
 */
class DashboardBrowserTest {
    /** Enough steps of the tiny model that the page sees several updates before the run ends. */
    private static final int STEPS = 150;

    @TempDir
    Path tmp;

    @Test
    void theLossChartGainsPointsAndTheWorkerTableShowsTheRing() throws Exception {
        assumeChromedriver();
        Path corpus = Files.writeString(tmp.resolve("corpus.txt"), TEXT);
        int port = freePort();
        // The browser starts first: on a busy machine Chromium's start can outlast the whole run,
        // and the page must watch the run while it trains to see the chart grow.
        WebDriver browser = chromium();
        CompletableFuture<CliRun> run = CompletableFuture.supplyAsync(() -> trainTiny(corpus, tmp.resolve("run"), STEPS,
                "--workers", "2", "--dashboard", "127.0.0.1:" + port));
        try {
            awaitListening(port, run);
            browser.get("http://127.0.0.1:" + port + "/");
            WebDriver page = browser;
            WebElement chart = browser.findElement(By.id("loss-chart"));
            int first = until(page, d -> points(chart) > 0 ? points(chart) : null);
            // A loaded machine may open the page only after the last step; the chart can grow only before it.
            int later = first == STEPS ? first : until(page, d -> points(chart) > first ? points(chart) : null);
            assertTrue(later > first || first == STEPS, first + " -> " + later);
            String line = until(page, d -> d.findElement(By.cssSelector("#loss-chart polyline")).getAttribute("points"));
            assertTrue(line.split(" ").length >= later, "the drawn line has a vertex per point: " + line);

            List<List<String>> rows = until(page, d -> {
                List<WebElement> r = d.findElements(By.cssSelector("#workers tbody tr"));
                return r.size() == 2 && r.stream().allMatch(w -> "active".equals(w.getAttribute("data-state")))
                        ? r.stream().map(DashboardBrowserTest::texts).toList() : null;
            });
            assertEquals("0", rows.get(0).get(0));
            assertEquals("1", rows.get(1).get(0));
            assertEquals("127.0.0.1", rows.get(0).get(1));

            // The run's end: the server's last message brings every step, and the page stops reconnecting.
            CliRun done = run.get(5, TimeUnit.MINUTES).assertOk();
            assertTrue(done.err().contains("troupe: dashboard at http://127.0.0.1:" + port + "/\n"), done::toString);
            String status = until(page, d -> {
                String s = d.findElement(By.id("status")).getText();
                return s.startsWith("ended") ? s : null;
            });
            assertTrue(status.endsWith("this is the final state"), status);
            assertEquals(STEPS, points(chart), "the final state has every step");
        } finally {
            if (browser != null) {
                browser.quit();
            }
            run.get(5, TimeUnit.MINUTES);
        }
    }

    /**
     * A worker the coordinator's log reports lost turns red in the table while the page is open
     * (on a dashboard with a token, given in the page's URL).
     * The log is written here by hand: an embedded run shares one JVM, so none of its workers can
     * be killed from outside (a real node loss is what writes such a line).
     */
    @Test
    void aWorkerTheCoordinatorLogsAsFailedShowsAsFailed() throws Exception {
        assumeChromedriver();
        Path events = tmp.resolve("events.jsonl");
        Files.writeString(events, String.join("\n",
                "{\"time\":\"2026-01-01T00:00:00Z\",\"event\":\"join\",\"worker\":\"w0\",\"host\":\"10.0.0.1\"}",
                "{\"time\":\"2026-01-01T00:00:00Z\",\"event\":\"join\",\"worker\":\"w1\",\"host\":\"10.0.0.2\"}",
                "{\"time\":\"2026-01-01T00:00:01Z\",\"event\":\"ring\",\"generation\":1,\"step\":0,\"workers\":"
                        + "[{\"rank\":0,\"worker\":\"w0\",\"host\":\"10.0.0.1\"},{\"rank\":1,\"worker\":\"w1\",\"host\":\"10.0.0.2\"}]}",
                ""));
        io.troupe.ops.dashboard.DashboardState state =
                new io.troupe.ops.dashboard.DashboardState(events, java.time.Clock.systemUTC());
        WebDriver browser = null;
        try (io.troupe.ops.dashboard.DashboardServer server = io.troupe.ops.dashboard.DashboardServer.start(
                "127.0.0.1", 0, state, "0123456789abcdef0123", Duration.ofMillis(200))) {
            browser = chromium();
            // The page hands its ?token= on to its EventSource, which cannot send headers.
            browser.get("http://127.0.0.1:" + server.port() + "/?token=0123456789abcdef0123");
            until(browser, d -> d.findElements(By.cssSelector("#workers tbody tr[data-state=active]")).size() == 2 ? 1 : null);
            Files.writeString(events, "{\"time\":\"2026-01-01T00:00:09Z\",\"event\":\"failure\",\"worker\":\"w1\","
                    + "\"reason\":\"node pekko://troupe@10.0.0.2:2552 is unreachable\"}\n", java.nio.file.StandardOpenOption.APPEND);
            List<String> cells = until(browser, d -> d.findElements(By.cssSelector("#workers tbody tr[data-state=failed]"))
                    .stream().findFirst().map(DashboardBrowserTest::texts).orElse(null));
            assertEquals("10.0.0.2", cells.get(1));
            assertEquals("failed", cells.get(2));
            assertEquals("2026-01-01T00:00:09Z", cells.get(3));
            assertEquals(1, browser.findElements(By.cssSelector("#workers tbody tr[data-state=active]")).size());
        } finally {
            if (browser != null) {
                browser.quit();
            }
        }
    }

    /** A study's page: a row per trial in its state (ASHA's pause included) and a curve per trial that grows. */
    @Test
    void aStudysPageShowsTheTrialsStatesAndTheirCurvesGrow() throws Exception {
        assumeChromedriver();
        WebDriver browser = null;
        try (io.troupe.tuner.store.JdbcStudyStore store = io.troupe.tuner.store.JdbcStudyStore.sqlite(tmp);
             io.troupe.ops.dashboard.DashboardServer server = io.troupe.ops.dashboard.DashboardServer.start("127.0.0.1", 0,
                     new io.troupe.ops.dashboard.StudyDashboard(store, io.troupe.ops.dashboard.StudyDashboardTest.STUDY,
                             java.time.Clock.systemUTC(), Duration.ZERO), null, Duration.ofMillis(200))) {
            io.troupe.ops.dashboard.StudyDashboardTest.fill(store);
            browser = chromium();
            browser.get("http://127.0.0.1:" + server.port() + "/");
            List<String> states = until(browser, d -> {
                List<WebElement> r = d.findElements(By.cssSelector("#trials tbody tr"));
                return r.size() == 4 ? r.stream().map(w -> w.getAttribute("data-state")).toList() : null;
            });
            assertEquals(List.of("complete", "paused", "running", "failed"), states);
            assertFalse(browser.findElement(By.id("loss-chart")).isDisplayed(), "a study shows no run charts");
            WebElement chart = browser.findElement(By.id("trials-chart"));
            assertEquals(5, points(chart), "2 + 1 + 2 + 0 reported values");
            // A new report arrives as a delta and is drawn on the running trial's curve.
            store.report("/s", 2, 300, 3.0);
            until(browser, d -> points(chart) == 6 ? 1 : null);
            store.finishTrial("/s", 2, io.troupe.tuner.store.TrialState.COMPLETE, 3.0, null);
            String row = until(browser, d -> d.findElements(By.cssSelector("#trials tbody tr")).get(2)
                    .getAttribute("data-state").equals("complete") ? texts(d.findElements(By.cssSelector("#trials tbody tr"))
                    .get(2)).toString() : null);
            assertTrue(row.contains("3.000") && row.contains("lr=0.001"), row);
            // A line per trial with values (the failed one has none); the page redraws, so read it in one go.
            Object lines = ((org.openqa.selenium.JavascriptExecutor) browser).executeScript(
                    "return [...document.querySelectorAll('#trials-chart polyline')]"
                            + ".filter(l => l.getAttribute('points') !== '').length");
            assertEquals(3L, lines);
        } finally {
            if (browser != null) {
                browser.quit();
            }
        }
    }

    /** A server's page: request rate, drift PSI and live accuracy charts that gain samples, and the drift flag. */
    @Test
    void aServersPageShowsDriftAndLiveAccuracy() throws Exception {
        assumeChromedriver();
        io.prometheus.metrics.model.registry.PrometheusRegistry registry = new io.prometheus.metrics.model.registry.PrometheusRegistry();
        io.prometheus.metrics.core.metrics.Counter requests = io.prometheus.metrics.core.metrics.Counter.builder()
                .name("troupe_serve_requests_total").labelNames("endpoint", "status").register(registry);
        io.prometheus.metrics.core.metrics.Gauge psi = io.prometheus.metrics.core.metrics.Gauge.builder()
                .name("troupe_serve_drift_psi").labelNames("feature").register(registry);
        io.prometheus.metrics.core.metrics.Gauge drift = io.prometheus.metrics.core.metrics.Gauge.builder()
                .name("troupe_serve_drift").register(registry);
        io.prometheus.metrics.core.metrics.Gauge accuracy = io.prometheus.metrics.core.metrics.Gauge.builder()
                .name("troupe_serve_live_accuracy").register(registry);
        psi.labelValues("tokens").set(0.05);
        psi.labelValues("length").set(0.02);
        accuracy.set(1.0);
        WebDriver browser = null;
        try (io.troupe.ops.dashboard.ServeDashboard feed = io.troupe.ops.dashboard.ServeDashboard.start(registry,
                     java.time.Clock.systemUTC(), Duration.ofMillis(100));
             io.troupe.ops.dashboard.DashboardServer server = io.troupe.ops.dashboard.DashboardServer.start("127.0.0.1", 0,
                     feed, null, Duration.ofMillis(200))) {
            browser = chromium();
            browser.get("http://127.0.0.1:" + server.port() + "/");
            WebElement psiChart = browser.findElement(By.id("psi-chart"));
            int first = until(browser, d -> points(psiChart) > 1 ? points(psiChart) : null);
            requests.labelValues("/v1/completions", "200").inc(50);
            psi.labelValues("tokens").set(1.3);
            drift.set(1);
            accuracy.set(0.6);
            String latest = until(browser, d -> "drift".equals(d.findElement(By.id("serve-latest")).getAttribute("data-drift"))
                    ? d.findElement(By.id("serve-latest")).getText() : null);
            assertTrue(latest.contains("token PSI 1.30") && latest.contains("live accuracy 0.600"), latest);
            assertTrue(browser.findElement(By.id("progress")).getText().contains("drift DETECTED"));
            assertTrue(points(psiChart) > first, "the chart gains samples: " + first + " -> " + points(psiChart));
            assertTrue(points(browser.findElement(By.id("rate-chart"))) > 0);
            assertTrue(points(browser.findElement(By.id("accuracy-chart"))) > 0);
        } finally {
            if (browser != null) {
                browser.quit();
            }
        }
    }

    private static void assumeChromedriver() {
        HeadlessChromium.assume("DashboardBrowserTest");
    }

    /** Polls {@code condition} every 100 ms until it returns non-null, for up to 60 s. */
    private static <T> T until(WebDriver browser, Function<WebDriver, T> condition) throws InterruptedException {
        return HeadlessChromium.until(browser, 60, condition);
    }

    /** The texts of a table row's cells. */
    private static List<String> texts(WebElement row) {
        return row.findElements(By.tagName("td")).stream().map(WebElement::getText).toList();
    }

    private static int points(WebElement chart) {
        return Integer.parseInt(chart.getAttribute("data-points"));
    }

    private WebDriver chromium() throws Exception {
        return HeadlessChromium.start(tmp);
    }

    private static int freePort() throws Exception {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

    /** Waits until the dashboard accepts connections (or the run ended without it). */
    private static void awaitListening(int port, CompletableFuture<CliRun> run) throws Exception {
        // Generous: on a shared, loaded machine an embedded 2-worker run can take a minute to start.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
        while (System.nanoTime() < deadline) {
            if (run.isDone()) {
                throw new AssertionError("the run ended before its dashboard was seen: " + run.get());
            }
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 200);
                return;
            } catch (java.io.IOException notYet) {
                Thread.sleep(50);
            }
        }
        throw new AssertionError("the dashboard did not listen on port " + port + " within 180 s");
    }
}
