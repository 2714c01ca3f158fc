package io.troupe.ops.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.troupe.data.pairs.HashSplit;
import io.troupe.data.pairs.PairDataset;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code troupe prepare --pairs} and {@code prepare --tokenizer wordpiece} from the command line. */
class PreparePairsCommandTest {

    @TempDir
    Path dir;

    private record Run(int exitCode, String out, String err) {
    }

    private Path pairs() throws Exception {
        String[] en = {"the", "cat", "sees", "a", "dog", "house", "runs"};
        String[] fr = {"le", "chat", "voit", "un", "chien", "maison", "court"};
        Random r = new Random(5);
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 400; i++) {
            StringBuilder e = new StringBuilder("s" + i);
            StringBuilder f = new StringBuilder("s" + i);
            for (int k = 0; k < 1 + r.nextInt(12); k++) {
                int w = r.nextInt(en.length);
                e.append(' ').append(en[w]);
                f.append(' ').append(fr[w]);
            }
            lines.add(f + "\u202f!\t" + e + ".");
        }
        Path file = Files.createDirectories(dir.resolve("data")).resolve("fr-en.tsv");
        Files.write(file, lines);
        Files.writeString(dir.resolve("data/_about.txt"), "Attribution: www.manythings.org/anki and tatoeba.org\n");
        return file;
    }

    @Test
    void preparesPairsWithTheChosenColumnsAndReportsPadding() throws Exception {
        Path file = pairs();
        Path out = dir.resolve("pairs");
        Run run = troupe("prepare", "--pairs", file, "--source-column", "2", "--target-column", "1", "--split",
                "hash-en:80/10/10", "--vocab-size", "300", "--out", out);
        assertEquals(0, run.exitCode(), run.err());
        assertTrue(run.out().contains("pairs: 400 lines read, 0 skipped"), run.out());
        assertTrue(run.out().lines().anyMatch(l -> l.startsWith("train ")), run.out());
        assertTrue(run.out().contains("attribution (required wherever a model trained on it is published):"
                + " www.manythings.org/anki and tatoeba.org"), run.out());
        Run json = troupe("prepare", "--pairs", file, "--source-column", "2", "--target-column", "1", "--split",
                "hash-en:80/10/10", "--vocab-size", "300", "--out", dir.resolve("json"), "--json");
        assertEquals(0, json.exitCode(), json.err());
        JsonNode line = new ObjectMapper().readTree(json.out());
        assertEquals(400, line.path("lines").asInt());
        JsonNode trainLine = line.path("splits").path("train");
        assertTrue(trainLine.path("padding_fraction_bucketed").asDouble()
                < trainLine.path("padding_fraction_random").asDouble(), json.out());
        assertEquals(line.path("splits").path("train").path("pairs").asInt()
                + line.path("splits").path("val").path("pairs").asInt()
                + line.path("splits").path("test").path("pairs").asInt(), 400);
        PairDataset data = PairDataset.open(out);
        JsonNode manifest = new ObjectMapper().readTree(out.resolve("manifest.json").toFile());
        assertEquals("www.manythings.org/anki and tatoeba.org", manifest.path("attribution").asText());
        assertEquals("hash-en:80/10/10", manifest.path("split").asText());
        PairDataset.Examples train = data.split(HashSplit.Part.TRAIN);
        String source = data.tokenizer().decode(train.source(0));
        assertTrue(source.startsWith("s") && source.endsWith("."), "column 2 (English) is the source: " + source);
        assertTrue(data.tokenizer().decode(train.target(0)).endsWith("\u202f!"), "typographic space kept");
    }

    @Test
    void badPairsInputIsOneLineAndANonZeroExit() throws Exception {
        Path file = pairs();
        assertOneLine(troupe("prepare", "--pairs", file, "--split", "hash-en:90/5/4", "--out", dir.resolve("x")),
                "troupe: --split 'hash-en:90/5/4': the percentages sum to 99, not 100", TroupeCli.EXIT_USAGE);
        assertOneLine(troupe("prepare", "--pairs", file, "--out", dir.resolve("x")), "troupe: --pairs needs --split",
                TroupeCli.EXIT_USAGE);
        assertOneLine(troupe("prepare", "--pairs", file, "--input", file, "--split", "hash-en:90/5/5", "--out",
                dir.resolve("x")), "troupe: --pairs prepares translation pairs", TroupeCli.EXIT_USAGE);
        assertOneLine(troupe("prepare", "--out", dir.resolve("x")), "troupe: Missing required option: '--input=PATH'",
                TroupeCli.EXIT_USAGE);
        Path noTab = dir.resolve("notab.tsv");
        Files.writeString(noTab, "Hello\tBonjour\nno tab on this line\n");
        assertOneLine(troupe("prepare", "--pairs", noTab, "--split", "hash-en:90/5/5", "--out", dir.resolve("x")),
                "troupe: 1 of 2 lines are not usable pairs (first: " + noTab + ":2 has no TAB)",
                TroupeCli.EXIT_FAILURE);
        assertFalse(Files.exists(dir.resolve("x")));
    }

    @Test
    void wordPieceDatasetFromTheCommandLine() throws Exception {
        Path corpus = Files.createDirectories(dir.resolve("corpus"));
        StringBuilder text = new StringBuilder();
        Random r = new Random(2);
        String[] words = {"Walking", "talked", "walks", "talking", "the", "Café", "naïve", "dogs", "dog"};
        for (int d = 0; d < 40; d++) {
            for (int i = 0; i < 200; i++) {
                text.append(words[r.nextInt(words.length)]).append(i % 12 == 11 ? ".\n" : " ");
            }
            text.append("\n\n");
        }
        Files.writeString(corpus.resolve("a.txt"), text);
        Path out = dir.resolve("wp");
        Run run = troupe("prepare", "--input", corpus, "--out", out, "--tokenizer", "wordpiece", "--vocab-size", "40",
                "text_document_bytes=2048");
        assertEquals(0, run.exitCode(), run.err());
        JsonNode manifest = new ObjectMapper().readTree(out.resolve("manifest.json").toFile());
        assertEquals("hf_json", manifest.path("tokenizer").asText());
        assertEquals(40, manifest.path("vocab_size").asInt());
    }

    private static void assertOneLine(Run run, String start, int exitCode) {
        assertEquals(exitCode, run.exitCode(), run.err());
        List<String> lines = run.err().lines().toList();
        assertEquals(1, lines.size(), run.err());
        assertTrue(lines.get(0).startsWith(start), run.err());
    }

    private static Run troupe(Object... args) {
        String[] strings = new String[args.length];
        for (int i = 0; i < args.length; i++) {
            strings[i] = args[i].toString();
        }
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int exit = TroupeCli.commandLine().setOut(new PrintWriter(out)).setErr(new PrintWriter(err)).execute(strings);
        return new Run(exit, out.toString(), err.toString());
    }
}
