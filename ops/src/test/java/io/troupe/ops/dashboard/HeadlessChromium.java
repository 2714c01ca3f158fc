package io.troupe.ops.dashboard;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.function.Function;
import org.junit.jupiter.api.Assumptions;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;

/** Debian's headless Chromium driven through /usr/bin/chromedriver, for the dashboard's browser tests. */
public final class HeadlessChromium {
    private static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
    private static final Path CHROMIUM = Path.of("/usr/bin/chromium");

    private HeadlessChromium() {
    }

    /** Skips the test (loudly) when chromedriver is not installed; {@code .ci/run} installs it. */
    public static void assume(String test) {
        if (!Files.isExecutable(CHROMEDRIVER)) {
            System.err.println("\n*** " + test + " SKIPPED: " + CHROMEDRIVER + " is missing;"
                    + " install Debian's chromium and chromium-driver (.ci/run does) ***\n");
            Assumptions.abort(CHROMEDRIVER + " is missing");
        }
    }

    /** A new browser with its profile in a new directory under {@code tmp}. */
    public static WebDriver start(Path tmp) throws Exception {
        ChromeOptions options = new ChromeOptions();
        if (Files.isExecutable(CHROMIUM)) {
            options.setBinary(CHROMIUM.toFile());
        }
        options.addArguments("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--user-data-dir=" + Files.createTempDirectory(tmp, "chromium-profile"));
        ChromeDriverService service = new ChromeDriverService.Builder()
                .usingDriverExecutable(new File(CHROMEDRIVER.toString())).usingAnyFreePort().build();
        return new ChromeDriver(service, options);
    }

    /** Polls {@code condition} every 100 ms until it returns non-null, for up to {@code seconds}. */
    public static <T> T until(WebDriver browser, int seconds, Function<WebDriver, T> condition) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(seconds).toNanos();
        while (System.nanoTime() < deadline) {
            try {
                T value = condition.apply(browser);
                if (value != null) {
                    return value;
                }
            } catch (StaleElementReferenceException redrawn) {
                // The page redraws its tables on every message; look again.
            }
            Thread.sleep(100);
        }
        throw new AssertionError("the page did not get there within " + seconds + " s:\n" + browser.getPageSource());
    }
}
