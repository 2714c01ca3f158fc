package io.troupe.ops.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.RandomAccessFile;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PrepareCommandTest {

    /** A model small enough to train a few steps in well under a second. */
    private static final List<String> TINY_MODEL = List.of("n_layer=1", "n_head=2", "n_embd=16", "block_size=16",
            "batch_size=4", "eval_iters=2", "eval_interval=2", "log_interval=1", "warmup_iters=1", "lr_decay_iters=4");

    @TempDir
    Path dir;

    private Path corpus;

    private record Run(int exitCode, String out, String err) {
    }

    @BeforeEach
    void writeCorpus() throws Exception {
        corpus = Files.createDirectories(dir.resolve("corpus"));
        String[] words = {"the", "king", "queen", "shall", "not", "go", "to", "war", "with", "thee", "my", "lord"};
        Random random = new Random(3);
        for (int f = 0; f < 3; f++) {
            StringBuilder text = new StringBuilder();
            while (text.length() < 20_000) {
                text.append(words[random.nextInt(words.length)]).append(random.nextInt(9) == 0 ? ".\n" : " ");
                if (random.nextInt(60) == 0) {
                    text.append("\n\n");
                }
            }
            Files.writeString(corpus.resolve("part" + f + ".txt"), text);
        }
    }

    @Test
    void preparesADatasetAndPrintsTheReport() throws Exception {
        Run run = troupe("prepare", "--input", corpus, "--out", dir.resolve("ds"), "--tokenizer", "bpe",
                "--vocab-size", "300", "--threads", "2", "text_document_bytes=2048");
        assertEquals(0, run.exitCode(), run.err());
        assertTrue(run.out().contains("documents                        in          out      removed"), run.out());
        assertTrue(run.out().contains("near duplicates"), run.out());
        assertTrue(run.out().lines().anyMatch(l -> l.startsWith("kept ")), run.out());
        assertTrue(run.out().contains("tokens: "), run.out());
        assertTrue(Files.isRegularFile(dir.resolve("ds/manifest.json")));
        assertTrue(Files.isRegularFile(dir.resolve("ds/tokenizer.json")));

        Run json = troupe("prepare", "--input", corpus, "--out", dir.resolve("ds"), "--force", "--json",
                "--tokenizer", "gpt2", "text_document_bytes=2048");
        assertEquals(0, json.exitCode(), json.err());
        assertEquals(1, json.out().lines().count(), json.out());
        JsonNode report = new ObjectMapper().readTree(json.out());
        assertTrue(report.path("tokens").path("train").asLong() > 0, json.out());
    }

    @Test
    void documentationFilesAreSkippedSayingSoUnlessIncluded() throws Exception {
        Files.writeString(corpus.resolve("README.md"), "# About this corpus\nIt was collected from many places by many people.\n");
        Files.writeString(corpus.resolve("SOURCE_README.txt"), "Downloaded from a web site, with its terms of use.\n");
        Run run = troupe("prepare", "--input", corpus, "--out", dir.resolve("ds"), "--json", "text_document_bytes=2048");
        assertEquals(0, run.exitCode(), run.err());
        assertEquals("note: skipped 2 README/LICENSE file(s) (README.md, SOURCE_README.txt); pass --include-docs to"
                + " read them", run.err().strip());
        JsonNode files = new ObjectMapper().readTree(run.out()).path("files");
        assertEquals(3, files.path("read").asInt(), run.out());
        assertEquals(2, files.path("skipped_documentation").asInt(), run.out());

        Run included = troupe("prepare", "--input", corpus, "--out", dir.resolve("all"), "--json", "--include-docs",
                "text_document_bytes=2048");
        assertEquals(0, included.exitCode(), included.err());
        assertEquals("", included.err());
        assertEquals(5, new ObjectMapper().readTree(included.out()).path("files").path("read").asInt(), included.out());
    }

    @Test
    void excludeLeavesOutMatchingFiles() throws Exception {
        Run run = troupe("prepare", "--input", corpus, "--out", dir.resolve("ds"), "--json", "--exclude", "part1.*",
                "--exclude", "part2.txt", "text_document_bytes=2048");
        assertEquals(0, run.exitCode(), run.err());
        assertEquals("note: excluded 2 file(s) (part1.txt, part2.txt) matching --exclude", run.err().strip());
        JsonNode files = new ObjectMapper().readTree(run.out()).path("files");
        assertEquals(1, files.path("read").asInt(), run.out());
        assertEquals(2, files.path("excluded").asInt(), run.out());

        Run nothing = troupe("prepare", "--input", corpus, "--out", dir.resolve("none"), "--exclude", "*.txt");
        assertEquals(1, nothing.exitCode(), nothing.err());
        assertTrue(nothing.err().contains("(3 files matched --exclude)"), nothing.err());
    }

    @Test
    void trainsFromAPreparedDatasetAndRefusesACorruptOne() throws Exception {
        Path data = dir.resolve("ds");
        assertEquals(0, troupe("prepare", "--input", corpus, "--out", data, "text_document_bytes=2048").exitCode());
        List<Object> train = new ArrayList<>(List.of("train", "--data", data, "--out", dir.resolve("run"),
                "--steps", "2", "--threads", "1"));
        train.addAll(TINY_MODEL);
        Run run = troupe(train.toArray());
        assertEquals(0, run.exitCode(), run.err());
        assertTrue(Files.isRegularFile(dir.resolve("run/model.onnx")));
        assertEquals(Files.readString(data.resolve("tokenizer.json")), Files.readString(dir.resolve("run/tokenizer.json")));

        try (RandomAccessFile shard = new RandomAccessFile(data.resolve("train/shard-000000.bin").toFile(), "rw")) {
            shard.seek(10);
            int b = shard.read();
            shard.seek(10);
            shard.write(b ^ 0x40);
        }
        train.set(4, dir.resolve("run2"));
        Run corrupt = troupe(train.toArray());
        assertEquals(TroupeCli.EXIT_FAILURE, corrupt.exitCode());
        assertOneLine(corrupt, "troupe: shard " + data.resolve("train/shard-000000.bin") + " is corrupt");
    }

    @Test
    void badInputIsOneLineAndANonZeroExit() throws Exception {
        assertOneLine(troupe("prepare", "--input", dir.resolve("missing"), "--out", dir.resolve("x")),
                "troupe: input " + dir.resolve("missing") + " does not exist");
        assertOneLine(troupe("prepare", "--input", corpus, "--out", dir.resolve("x"), "--tokenizer", "bpe",
                "--vocab-size", "10"), "troupe: vocab size 10 is out of range", TroupeCli.EXIT_USAGE);
        assertOneLine(troupe("prepare", "--input", corpus, "--out", dir.resolve("x"), "--vocab-size", "500"),
                "troupe: --vocab-size applies only to --tokenizer bpe", TroupeCli.EXIT_USAGE);
        assertOneLine(troupe("prepare", "--input", corpus, "--out", dir.resolve("x"), "--on-invalid", "ignore"),
                "troupe: setting on_invalid = 'ignore' is not one of: replace, skip, fail", TroupeCli.EXIT_USAGE);
        assertEquals(0, troupe("prepare", "--input", corpus, "--out", dir.resolve("x"),
                "text_document_bytes=2048").exitCode());
        assertOneLine(troupe("prepare", "--input", corpus, "--out", dir.resolve("x")),
                "troupe: --out " + dir.resolve("x") + " already holds a prepared dataset; pass --force");
        assertOneLine(troupe("prepare", "--input", corpus, "--out", dir.resolve("y"), "min_doc_chars=1000000"),
                "troupe: the corpus is empty after filtering");
    }

    private static void assertOneLine(Run run, String start) {
        assertOneLine(run, start, TroupeCli.EXIT_FAILURE);
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
