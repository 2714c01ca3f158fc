package io.troupe.ops.cli;

import static io.troupe.ops.cli.CliRun.TEXT;
import static io.troupe.ops.cli.CliRun.trainTiny;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
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
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;

/**
 * The dashboard in a real browser: Debian's headless Chromium, driven by Selenium through
 * /usr/bin/chromedriver, watches an embedded 2-worker run. Skipped (loudly) only when
 * chromedriver is not installed; {@code .ci/run} installs it.
 */
class DashboardBrowserTest {
    private static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
    private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    /** Enough steps of the tiny model that the page sees several updates before the run ends. */
    private static final int STEPS = 400;

    @TempDir
    Path tmp;

    @Test
    void theLossChartGainsPointsAndTheWorkerTableShowsTheRing() throws Exception {
        if (!Files.isExecutable(CHROMEDRIVER)) {
            System.err.println("\n*** DashboardBrowserTest SKIPPED: " + CHROMEDRIVER + " is missing;"
                    + " install Debian's chromium and chromium-driver (.ci/run does) ***\n");
            Assumptions.abort(CHROMEDRIVER + " is missing");
        }
        Path corpus = Files.writeString(tmp.resolve("corpus.txt"), TEXT);
        int port = freePort();
        CompletableFuture<CliRun> run = CompletableFuture.supplyAsync(() -> trainTiny(corpus, tmp.resolve("run"), STEPS,
                "--workers", "2", "--dashboard", "127.0.0.1:" + port));
        WebDriver browser = null;
        try {
            awaitListening(port, run);
            browser = chromium();
            browser.get("http://127.0.0.1:" + port + "/");
            WebDriver page = browser;
            WebElement chart = browser.findElement(By.id("loss-chart"));
            int first = until(page, d -> points(chart) > 0 ? points(chart) : null);
            int later = until(page, d -> points(chart) > first ? points(chart) : null);
            assertTrue(later > first, first + " -> " + later);
            String line = chart.findElement(By.tagName("polyline")).getAttribute("points");
            assertTrue(line.split(" ").length >= later, "the drawn line has a vertex per point: " + line);

            List<WebElement> rows = until(page, d -> {
                List<WebElement> r = d.findElements(By.cssSelector("#workers tbody tr"));
                return r.size() == 2 && r.stream().allMatch(w -> "active".equals(w.getAttribute("data-state"))) ? r : null;
            });
            assertEquals("0", rows.get(0).findElements(By.tagName("td")).get(0).getText());
            assertEquals("1", rows.get(1).findElements(By.tagName("td")).get(0).getText());
            assertEquals("127.0.0.1", rows.get(0).findElements(By.tagName("td")).get(1).getText());
        } finally {
            if (browser != null) {
                browser.quit();
            }
            run.get(5, TimeUnit.MINUTES).assertOk();
        }
    }

    /** Polls {@code condition} every 100 ms until it returns non-null, for up to 60 s. */
    private static <T> T until(WebDriver browser, Function<WebDriver, T> condition) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < deadline) {
            T value = condition.apply(browser);
            if (value != null) {
                return value;
            }
            Thread.sleep(100);
        }
        throw new AssertionError("the page did not get there within 60 s:\n" + browser.getPageSource());
    }

    private static int points(WebElement chart) {
        return Integer.parseInt(chart.getAttribute("data-points"));
    }

    private WebDriver chromium() throws Exception {
        ChromeOptions options = new ChromeOptions();
        if (Files.isExecutable(CHROMIUM)) {
            options.setBinary(CHROMIUM.toFile());
        }
        options.addArguments("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--user-data-dir=" + Files.createDirectory(tmp.resolve("chromium-profile")));
        ChromeDriverService service = new ChromeDriverService.Builder()
                .usingDriverExecutable(new File(CHROMEDRIVER.toString())).usingAnyFreePort().build();
        return new ChromeDriver(service, options);
    }

    private static int freePort() throws Exception {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

    /** Waits until the dashboard accepts connections (or the run ended without it). */
    private static void awaitListening(int port, CompletableFuture<CliRun> run) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
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
        throw new AssertionError("the dashboard did not listen on port " + port + " within 60 s");
    }
}
