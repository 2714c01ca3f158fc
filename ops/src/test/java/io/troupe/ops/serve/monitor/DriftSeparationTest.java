package io.troupe.ops.serve.monitor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.troupe.ops.cli.TroupeCli;
import io.troupe.ops.inference.ExportedModel;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 20's drift check on a small character model of tinyshakespeare: held-out val lines stay
 * under the threshold, while French, random bytes and Java code are flagged, with token PSIs at
 * least ten times the in-distribution one.
 */
class DriftSeparationTest {
    private static final Path SHAKESPEARE = Path.of("../../shared/data/tinyshakespeare/input.txt");
    private static final Path FRENCH = Path.of("../../shared/data/parallel-eng-fra/fra.part1.txt");
    private static final Path JAVA = Path.of("src/main/java/io/troupe/ops/serve/OpenAiServer.java");
    private static final int WINDOW = 200;

    @TempDir
    static Path dir;
    private static Path run;
    private static ExportedModel model;
    private static final List<String> said = new ArrayList<>();

    @BeforeAll
    static void train() throws Exception {
        run = dir.resolve("run");
        StringWriter out = new StringWriter();
        int exit = TroupeCli.commandLine().setOut(new PrintWriter(out)).setErr(new PrintWriter(out)).execute("train",
                "--data", SHAKESPEARE.toString(), "--out", run.toString(), "--steps", "30", "--threads", "1",
                "n_layer=1", "n_head=2", "n_embd=32", "block_size=64", "batch_size=8", "eval_iters=1", "eval_interval=30",
                "log_interval=30", "warmup_iters=2", "lr_decay_iters=30", "learning_rate=3e-3");
        assertEquals(0, exit, out::toString);
        assertTrue(Files.isRegularFile(run.resolve(ReferenceProfile.FILE_NAME)), "train stores the reference profile");
        Files.delete(run.resolve(ReferenceProfile.FILE_NAME)); // the monitor computes it again: that path is tested too
        model = ExportedModel.open(run, 1);
    }

    @AfterAll
    static void close() throws Exception {
        model.close();
    }

    private static List<String> valLines() throws Exception {
        List<String> lines = Files.readAllLines(SHAKESPEARE);
        List<String> held = new ArrayList<>();
        for (String line : lines.subList((int) (lines.size() * 0.92), lines.size())) { // inside the 10% val split
            if (!line.isBlank()) {
                held.add(line);
            }
        }
        return ReferenceProfiles.spread(held, WINDOW); // across the split: 200 lines in a row are one scene
    }

    private static List<String> french() throws Exception {
        List<String> out = new ArrayList<>();
        for (String line : Files.readAllLines(FRENCH).subList(20_000, 20_000 + WINDOW)) {
            out.add(line.substring(line.indexOf('\t') + 1));
        }
        return out;
    }

    private static List<String> randomBytes() {
        Random random = new Random(7);
        List<String> out = new ArrayList<>();
        for (int i = 0; i < WINDOW; i++) {
            byte[] bytes = new byte[10 + random.nextInt(60)];
            random.nextBytes(bytes);
            out.add(new String(bytes, StandardCharsets.UTF_8));
        }
        return out;
    }

    private static List<String> javaCode() throws Exception {
        List<String> out = new ArrayList<>();
        for (String line : Files.readAllLines(JAVA)) {
            if (!line.isBlank() && out.size() < WINDOW) {
                out.add(line);
            }
        }
        return out;
    }

    private static DriftWindow.Snapshot window(List<String> texts, MonitorSettings settings, DriftMonitor.Status expected)
            throws Exception {
        MonitorMetrics metrics = new MonitorMetrics(new PrometheusRegistry());
        DriftMonitor monitor = new DriftMonitor(run, "run", 1, MonitoredModel.of(model), settings, metrics, said::add, m -> true);
        try {
            for (String text : texts) {
                monitor.observe(text);
            }
            monitor.drain();
            assertNotNull(monitor.reference(), () -> String.join("\n", said));
            assertEquals(expected, monitor.status(), () -> monitor.health(new ObjectMapper()).toString());
            return monitor.snapshot();
        } finally {
            monitor.close();
        }
    }

    @Test
    void valLinesStayUnderTheThresholdWhileFrenchRandomBytesAndJavaAreFlaggedTenTimesHigher() throws Exception {
        MonitorSettings settings = MonitorSettings.defaults().withWindow(WINDOW, 50, 0.25);
        DriftWindow.Snapshot in = window(valLines(), settings, DriftMonitor.Status.OK);
        assertTrue(Files.isRegularFile(run.resolve(ReferenceProfile.FILE_NAME)), "the computed profile is stored");
        assertTrue(said.stream().anyMatch(l -> l.contains("computing it once")), said::toString);
        said.clear();
        DriftWindow.Snapshot fr = window(french(), settings, DriftMonitor.Status.DRIFT);
        assertFalse(said.stream().anyMatch(l -> l.contains("computing it once")), "the stored profile is read back");
        assertTrue(said.stream().anyMatch(l -> l.startsWith("drift: ")), said::toString);
        DriftWindow.Snapshot bytes = window(randomBytes(), settings, DriftMonitor.Status.DRIFT);
        DriftWindow.Snapshot java = window(javaCode(), settings, DriftMonitor.Status.DRIFT);
        System.out.printf(Locale.ROOT, "PSI tokens/length, prompt ppl: val %.4f/%.4f %.2f, french %.3f/%.3f %.2f,"
                        + " bytes %.3f/%.3f %.2f, java %.3f/%.3f %.2f (reference ppl %.2f)%n",
                in.tokenPsi(), in.lengthPsi(), in.perplexity(), fr.tokenPsi(), fr.lengthPsi(), fr.perplexity(),
                bytes.tokenPsi(), bytes.lengthPsi(), bytes.perplexity(), java.tokenPsi(), java.lengthPsi(),
                java.perplexity(), ReferenceProfile.read(run).perplexity());
        for (DriftWindow.Snapshot out : List.of(fr, bytes, java)) {
            assertTrue(out.tokenPsi() >= 10 * in.tokenPsi(), () -> "token PSI " + out + " vs in-distribution " + in);
        }
        assertEquals(WINDOW, in.texts());
        assertTrue(in.tokenPsi() < 0.1, () -> "in-distribution token PSI " + in);
        assertEquals(0.0, in.unknownShare(), 1e-12, "Shakespeare's val lines hold no character outside its vocabulary");
        assertTrue(bytes.unknownShare() > 0.3, () -> "random bytes are mostly unknown characters: " + bytes);
    }
}
