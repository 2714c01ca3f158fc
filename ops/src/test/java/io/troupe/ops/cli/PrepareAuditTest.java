package io.troupe.ops.cli;

import static io.troupe.ops.cli.CliRun.troupe;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code prepare --audit}, {@code --audit-words} and {@code --augment}: files, manifest and bad input. */
class PrepareAuditTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;
    private Path corpus;

    @BeforeEach
    void writeCorpus() throws Exception {
        // Forty different documents; every one says "he" about a doctor, a few also "she".
        corpus = Files.createDirectories(dir.resolve("corpus"));
        String[] words = {"river", "stone", "bright", "morning", "walked", "slowly", "across", "field", "quiet", "house"};
        Random random = new Random(5);
        for (int f = 0; f < 40; f++) {
            StringBuilder text = new StringBuilder("The doctor said he would come, and his son came too. ");
            if (f % 4 == 0) {
                text.append("She smiled at her brother. ");
            }
            for (int w = 0; w < 80; w++) {
                text.append(words[random.nextInt(words.length)]).append(' ');
            }
            Files.writeString(corpus.resolve("doc" + f + ".txt"), text.append(".\n"));
        }
    }

    private CliRun prepare(Path out, Object... extra) {
        return troupe("prepare", "--input", corpus, "--out", out, "--threads", 1, java.util.List.of(extra));
    }

    private static JsonNode manifest(Path ds) throws Exception {
        return JSON.readTree(Files.readString(ds.resolve("manifest.json")));
    }

    @Test
    void everyManifestHasTheAuditSummaryAndAuditWritesTheReportFiles() throws Exception {
        Path plain = dir.resolve("plain");
        CliRun run = prepare(plain).assertOk();
        assertTrue(run.out().contains("audit: gendered terms 130 male / 20 female (ratio 6.500)"), run.toString());
        JsonNode summary = manifest(plain).path("report").path("audit");
        // 40 documents x (he, his, son) male; 10 x (she, her) female, brother male.
        assertEquals(130, summary.path("male_terms").asLong());
        assertEquals(20, summary.path("female_terms").asLong());
        assertEquals(6.5, summary.path("male_to_female").asDouble(), 1e-9);
        assertEquals("doctor", summary.path("top_skewed_occupations").get(0).path("occupation").asText());
        assertFalse(Files.exists(plain.resolve("audit.json")), "the full audit only with --audit");
        assertTrue(manifest(plain).path("report").path("augmentation").isMissingNode());

        Path audited = dir.resolve("audited");
        prepare(audited, "--audit").assertOk();
        JsonNode full = JSON.readTree(Files.readString(audited.resolve("audit.json")));
        assertEquals(40, full.path("documents").asInt());
        assertEquals(130, full.path("gendered_terms").path("male").asLong());
        String html = Files.readString(audited.resolve("audit.html"));
        assertTrue(html.contains("<svg") && html.contains("Gendered terms"), html);
    }

    @Test
    void cdaAddsSwappedTrainCopiesAndBalancesTheTrainTerms() throws Exception {
        Path ds = dir.resolve("cda");
        CliRun run = prepare(ds, "--augment", "cda", "--val-fraction", "0").assertOk();
        assertTrue(run.out().contains("augmentation: cda, 40 train documents swapped (150 terms), 40 copies added"), run.toString());
        JsonNode report = manifest(ds).path("report");
        JsonNode aug = report.path("augmentation");
        assertEquals("cda", aug.path("mode").asText());
        assertEquals(40, aug.path("documents_swapped").asLong());
        assertEquals(40, aug.path("copies_added").asLong());
        assertEquals(150, aug.path("terms_swapped").asLong());
        assertEquals(80, report.path("audit").path("documents").asLong());
        assertEquals(1.0, report.path("audit").path("male_to_female").asDouble(), 1e-9);

        // The per-document work runs on the workers; the sums do not depend on how many.
        Path twoThreads = dir.resolve("cda2");
        troupe("prepare", "--input", corpus, "--out", twoThreads, "--threads", 2, "--augment", "cda", "--val-fraction", "0",
                "batch_bytes=2000").assertOk();
        assertEquals(report.path("audit"), manifest(twoThreads).path("report").path("audit"));
        assertEquals(aug, manifest(twoThreads).path("report").path("augmentation"));

        Path replaced = dir.resolve("replace");
        prepare(replaced, "--augment", "cda-replace", "--val-fraction", "0").assertOk();
        JsonNode r = manifest(replaced).path("report");
        assertEquals(0, r.path("augmentation").path("copies_added").asLong());
        assertEquals(20.0 / 130, r.path("audit").path("male_to_female").asDouble(), 1e-9);
    }

    @Test
    void badOptionsAreOneLine() throws Exception {
        prepare(dir.resolve("x"), "--augment", "swap").assertOneLineError("--augment must be cda or cda-replace, got 'swap'")
                .assertExit(TroupeCli.EXIT_USAGE);
        Path odd = Files.writeString(dir.resolve("odd.txt"), "he she\nking\n");
        prepare(dir.resolve("y"), "--audit-words", odd).assertOneLineError("has 3 entries, an odd number");
        prepare(dir.resolve("z"), "--augment-names", odd).assertOneLineError("--augment-names applies only with --augment")
                .assertExit(TroupeCli.EXIT_USAGE);
        assertFalse(Files.exists(dir.resolve("x")) || Files.exists(dir.resolve("y")) || Files.exists(dir.resolve("z")));
    }

    @Test
    void aCustomWordListReplacesTheBuiltInOne() throws Exception {
        Path words = Files.writeString(dir.resolve("w.txt"), "# mine\nriver stone\n");
        Path ds = dir.resolve("custom");
        prepare(ds, "--audit-words", words, "--audit").assertOk();
        JsonNode g = JSON.readTree(Files.readString(ds.resolve("audit.json"))).path("gendered_terms");
        assertEquals(words.toString(), g.path("word_list").asText());
        assertEquals(1, g.path("pairs_in_list").asInt());
        assertTrue(g.path("male").asLong() > 100 && g.path("female").asLong() > 100, g.toString());
    }
}
