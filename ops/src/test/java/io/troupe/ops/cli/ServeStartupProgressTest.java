package io.troupe.ops.cli;

import static io.troupe.ops.cli.CliRun.TEXT;
import static io.troupe.ops.cli.CliRun.trainTiny;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.troupe.ops.serve.OpenAiServer;
import io.troupe.ops.serve.ServeLimits;
import io.troupe.ops.serve.StartupListener.Phase;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What {@code troupe serve} prints while it opens its model, without a terminal. */
class ServeStartupProgressTest {

    @TempDir
    Path tmp;

    @Test
    void plainLinesNameEachPhaseWithTheTimeTakenAndAnEstimateOfWhatIsLeft() throws Exception {
        StringWriter text = new StringWriter();
        AtomicLong clock = new AtomicLong();
        ServeStartupProgress progress = new ServeStartupProgress(new PrintWriter(text), false, Duration.ofMillis(20),
                clock::get);
        progress.onStart(1000);
        progress.onPhaseStart(Phase.LOAD_MODEL, 400);
        clock.set(2_000_000_000L);
        progress.onPhaseEnd(Phase.LOAD_MODEL);
        progress.onPhaseStart(Phase.GRAPH_SESSIONS, 550);
        Thread.sleep(300); // a long phase: lines say it is still running
        clock.set(4_000_000_000L);
        progress.onPhaseEnd(Phase.GRAPH_SESSIONS);
        progress.onPhaseStart(Phase.WARM_UP, 50);
        clock.set(4_500_000_000L);
        progress.onPhaseEnd(Phase.WARM_UP);
        progress.onDone(true);
        int linesAtDone = text.toString().split("\n").length;
        Thread.sleep(100);
        progress.close();

        List<String> all = List.of(text.toString().split("\n"));
        assertEquals(linesAtDone, all.size(), "no line after the model is ready: " + text);
        // A long phase gets lines saying it is still running (a loaded machine may add some to short ones).
        assertTrue(all.stream().anyMatch(l -> l.startsWith("serve start-up: still opening the decoding sessions, ")
                && l.endsWith(", 40% done, about 3.0 s left")), text.toString());
        List<String> lines = all.stream().filter(l -> !l.startsWith("serve start-up: still ")).toList();
        assertEquals(List.of(
                "serve start-up: loading the model (0.0 MB)...",
                // 2 s for 400 of 1000 bytes: 3 s for the 600 left.
                "serve start-up: loading the model took 2.0 s, 40% done, about 3.0 s left",
                "serve start-up: opening the decoding sessions (0.0 MB)...",
                "serve start-up: opening the decoding sessions took 2.0 s, 95% done, about 0.2 s left",
                "serve start-up: warming up (0.0 MB)...",
                "serve start-up: warming up took 0.5 s, 100% done",
                "serve start-up: ready in 4.5 s"), lines);
    }

    @Test
    void aRealModelGoesThroughLoadSessionsAndWarmUp() throws Exception {
        Path corpus = Files.writeString(tmp.resolve("corpus.txt"), TEXT);
        Path run = tmp.resolve("run");
        trainTiny(corpus, run, 2).assertOk();
        StringWriter text = new StringWriter();
        try (OpenAiServer server = OpenAiServer.bind("127.0.0.1", 0, ServeLimits.defaults(), null);
             ServeStartupProgress progress = new ServeStartupProgress(new PrintWriter(text), false)) {
            server.load(run, 1, 2, 64L << 20, line -> { }, progress);
        }
        String out = text.toString();
        int load = out.indexOf("serve start-up: loading the model took ");
        int sessions = out.indexOf("serve start-up: opening the decoding sessions took ");
        int warm = out.indexOf("serve start-up: warming up took ");
        int ready = out.indexOf("serve start-up: ready in ");
        assertTrue(load >= 0 && load < sessions && sessions < warm && warm < ready, out);
    }
}
