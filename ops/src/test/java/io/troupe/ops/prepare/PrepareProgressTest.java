package io.troupe.ops.prepare;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.troupe.data.prepare.PrepareListener.Phase;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Duration;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class PrepareProgressTest {

    @Test
    void withoutATerminalItPrintsPeriodicLinesWithTheShareDoneAndAnEta() throws Exception {
        StringWriter text = new StringWriter();
        PrepareProgress progress = new PrepareProgress(new PrintWriter(text), false, Duration.ZERO);
        progress.onPhaseStart(Phase.CLEAN, 4_000_000);
        Thread.sleep(20);
        progress.onProgress(Phase.CLEAN, 1_000_000, 10);
        progress.onPhaseEnd(Phase.CLEAN);

        List<String> lines = text.toString().lines().toList();
        assertEquals(3, lines.size(), text.toString());
        assertEquals("clean: 4.0 MB", lines.get(0));
        assertTrue(Pattern.matches("clean: 25% of 4\\.0 MB, [0-9.]+ MB/s, ETA \\d+:\\d\\d:\\d\\d", lines.get(1)), lines.get(1));
        assertTrue(lines.get(2).startsWith("clean: done in "), lines.get(2));
    }

    @Test
    void linesAreSpacedByTheInterval() {
        StringWriter text = new StringWriter();
        PrepareProgress progress = new PrepareProgress(new PrintWriter(text), false, Duration.ofHours(1));
        progress.onPhaseStart(Phase.TOKENIZE, 1000);
        for (int i = 1; i <= 100; i++) {
            progress.onProgress(Phase.TOKENIZE, i * 10L, i);
        }
        assertEquals(List.of("tokenize: 0.0 MB"), text.toString().lines().toList());
    }
}
