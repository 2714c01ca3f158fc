package io.troupe.data.prepare;

import static io.troupe.data.prepare.DatasetFixture.documents;
import static io.troupe.data.prepare.DatasetFixture.gzip;
import static io.troupe.data.prepare.DatasetFixture.jsonl;
import static io.troupe.data.prepare.DatasetFixture.prepare;
import static io.troupe.data.prepare.DatasetFixture.prose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.troupe.data.DataException;
import io.troupe.data.report.Counter;
import io.troupe.data.shard.Manifest;
import io.troupe.data.shard.PreparedDataset;
import io.troupe.data.shard.ShardInfo;
import io.troupe.data.shard.Split;
import io.troupe.data.shard.TokenWidth;
import io.troupe.data.tokenize.Tokenizer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PreparerTest {

    @TempDir
    Path dir;

    @Test
    void readsTextGzipAndJsonlAndCountsEveryFilter() throws Exception {
        Path corpus = Files.createDirectories(dir.resolve("corpus"));
        String a = prose(1, 120);
        String b = prose(2, 120);
        Files.writeString(corpus.resolve("a.txt"), a + "\r\n");
        gzip(corpus.resolve("b.md.gz"), b);
        List<String> records = new ArrayList<>();
        records.add(prose(3, 120));
        records.add(a); // exact duplicate of a.txt after cleaning (the CRLF goes)
        records.add(prose(4, 400));
        records.add(prose(4, 400).replace("Chapter 4", "Chapter four")); // a near duplicate
        records.add("short");
        records.add("12 34 56 78 90 | 11 22 33 44 | 55 66 77 88 | 99 00 11 22 | total 12345");
        records.add("Home page\nAbout us\nHome page\nAbout us\nHome page\nContact the team");
        records.add("x y z a b c d e f g h i j k l m n o p q r s t u v w");
        jsonl(corpus.resolve("c.jsonl"), records);
        gzip(corpus.resolve("d.jsonl.gz"), "{\"text\":\"" + prose(5, 100) + "\"}\n{\"text\": 42}\nnot json\n\n");
        Files.write(corpus.resolve("e.txt"), new byte[] {'P', 'K', 3, 4, 0, 0, 1});
        Files.writeString(corpus.resolve("f.csv"), "ignored");

        PrepareResult result = prepare(List.of(corpus), dir.resolve("out"), false, "tokenizer=gpt2",
                "val_fraction=0");
        PrepareReport r = result.report();
        assertEquals(5, r.count(Counter.FILES));
        assertEquals(1, r.count(Counter.FILES_UNSUPPORTED));
        assertEquals(1, r.count(Counter.FILES_BINARY));
        assertEquals(2 + 8 + 3, r.count(Counter.DOCS_READ));
        assertEquals(2, r.count(Counter.JSONL_MALFORMED));
        assertEquals(1, r.count(Counter.FILTER_TOO_SHORT));
        assertEquals(1, r.count(Counter.FILTER_ALPHA));
        assertEquals(1, r.count(Counter.FILTER_REPEATED_LINES));
        assertEquals(1, r.count(Counter.FILTER_WORD_LENGTH));
        assertEquals(1, r.count(Counter.EXACT_DUPLICATES));
        assertEquals(1, r.count(Counter.NEAR_DUPLICATES));
        assertEquals(1, r.count(Counter.LINE_ENDINGS_DOCS));
        assertEquals(5, r.keptDocuments());
        List<PrepareReport.FunnelStep> funnel = r.funnel();
        assertEquals(13, funnel.get(0).in());
        assertEquals(5, funnel.get(funnel.size() - 1).out());
        List<String> kept = new ArrayList<>(documents(result.directory(), Split.TRAIN));
        kept.addAll(documents(result.directory(), Split.VAL));
        assertEquals(Set.of(a, b, prose(3, 120), prose(4, 400), prose(5, 100)), new HashSet<>(kept));
        assertEquals(r.tokens(), result.manifest().trainTokens() + result.manifest().valTokens());
    }

    @Test
    void invalidUtf8IsHandledPerPolicy() throws Exception {
        Path corpus = Files.createDirectories(dir.resolve("corpus"));
        Files.writeString(corpus.resolve("good.txt"), prose(1, 100));
        byte[] latin1 = ("Caf\u00E9 society\n" + prose(2, 100)).getBytes(StandardCharsets.ISO_8859_1);
        Files.write(corpus.resolve("latin1.txt"), latin1);

        PrepareResult replaced = prepare(List.of(corpus), dir.resolve("replace"), false, "tokenizer=gpt2",
                "on_invalid=replace", "val_fraction=0");
        assertEquals(1, replaced.report().count(Counter.INVALID_ENCODING_DOCS));
        assertEquals(2, replaced.report().keptDocuments());
        assertTrue(documents(replaced.directory(), Split.TRAIN).contains("Caf\uFFFD society\n" + prose(2, 100)));

        PrepareResult skipped = prepare(List.of(corpus), dir.resolve("skip"), false, "tokenizer=gpt2",
                "on_invalid=skip", "val_fraction=0");
        assertEquals(1, skipped.report().count(Counter.INVALID_ENCODING_DROPPED));
        assertEquals(List.of(prose(1, 100)), documents(skipped.directory(), Split.TRAIN));

        for (String policy : List.of("on_invalid=fail", "strict=true")) {
            DataException e = assertThrows(DataException.class, () -> prepare(List.of(corpus), dir.resolve("fail"),
                    false, "tokenizer=gpt2", policy, "val_fraction=0"));
            assertTrue(e.getMessage().startsWith(corpus.resolve("latin1.txt") + ":1: invalid UTF-8 (byte 0xE9)"),
                    e.getMessage());
            assertFalse(Files.exists(dir.resolve("fail")), "a failed run into a new directory leaves nothing");
        }

        PrepareResult latin = prepare(List.of(corpus.resolve("latin1.txt")), dir.resolve("latin"), false,
                "tokenizer=gpt2", "encoding=ISO-8859-1", "val_fraction=0");
        assertTrue(documents(latin.directory(), Split.TRAIN).get(0).startsWith("Caf\u00E9 society"));
    }

    @Test
    void theSplitHashesDocumentsSoAddingAFileMovesNoOther() throws Exception {
        Path corpus = Files.createDirectories(dir.resolve("corpus"));
        List<String> first = new ArrayList<>();
        for (int i = 0; i < 60; i++) {
            first.add(prose(100 + i, 60));
        }
        jsonl(corpus.resolve("a.jsonl"), first);
        PrepareResult before = prepare(List.of(corpus), dir.resolve("before"), false, "tokenizer=gpt2",
                "val_fraction=0.3");
        Set<String> valBefore = new HashSet<>(documents(before.directory(), Split.VAL));
        assertTrue(valBefore.size() > 5 && valBefore.size() < 35, "about 30% of 60: " + valBefore.size());

        List<String> second = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            second.add(prose(200 + i, 60));
        }
        jsonl(corpus.resolve("0-added-first-in-order.jsonl"), second);
        PrepareResult after = prepare(List.of(corpus), dir.resolve("after"), false, "tokenizer=gpt2",
                "val_fraction=0.3", "threads=1");
        Set<String> valAfter = new HashSet<>(documents(after.directory(), Split.VAL));
        Set<String> trainAfter = new HashSet<>(documents(after.directory(), Split.TRAIN));
        for (String doc : first) {
            assertEquals(valBefore.contains(doc), valAfter.contains(doc), doc);
            assertEquals(!valBefore.contains(doc), trainAfter.contains(doc), doc);
        }

        // same inputs and seed, another thread count: byte-identical shards
        PrepareResult again = prepare(List.of(corpus), dir.resolve("again"), false, "tokenizer=gpt2",
                "val_fraction=0.3", "threads=3", "batch_bytes=2000");
        assertEquals(after.manifest().shards(), again.manifest().shards());

        PrepareResult reseeded = prepare(List.of(corpus), dir.resolve("reseeded"), false, "tokenizer=gpt2",
                "val_fraction=0.3", "seed=7");
        assertFalse(valAfter.equals(new HashSet<>(documents(reseeded.directory(), Split.VAL))));
    }

    @Test
    void charAndBpeDatasetsDecodeToTheCleanedText() throws Exception {
        Path corpus = Files.createDirectories(dir.resolve("corpus"));
        List<String> docs = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            docs.add(prose(i, 80) + " Ünïcödé & ‘quotes’.");
        }
        jsonl(corpus.resolve("docs.jsonl"), docs);

        PrepareResult bpe = prepare(List.of(corpus), dir.resolve("bpe"), false, "tokenizer=bpe", "vocab_size=300",
                "shard_tokens=500");
        assertEquals("bpe", bpe.manifest().tokenizer());
        assertEquals(300, bpe.manifest().vocabSize());
        assertEquals(TokenWidth.UINT16, bpe.manifest().dtype());
        assertTrue(bpe.manifest().shards(Split.TRAIN).size() > 2, "shard_tokens=500 rolls over");
        List<String> back = new ArrayList<>(documents(bpe.directory(), Split.TRAIN));
        back.addAll(documents(bpe.directory(), Split.VAL));
        assertEquals(new HashSet<>(docs), new HashSet<>(back));
        assertTrue(bpe.report().bytesPerToken() > 2, "a trained BPE compresses: " + bpe.report().bytesPerToken());

        PrepareResult chars = prepare(List.of(corpus), dir.resolve("char"), false, "tokenizer=char");
        PreparedDataset data = PreparedDataset.open(chars.directory());
        Tokenizer tokenizer = data.tokenizer();
        String train = tokenizer.decode(DatasetFixture.all(data.train()));
        String val = tokenizer.decode(DatasetFixture.all(data.val()));
        // documents joined by blank lines, in input order within each split
        Set<String> joined = new HashSet<>(List.of((train + val).split("\n\n")));
        assertEquals(new HashSet<>(docs), joined);
        assertEquals(chars.report().count(Counter.TEXT_BYTES_TRAIN) + chars.report().count(Counter.TEXT_BYTES_VAL),
                (train + val).getBytes(StandardCharsets.UTF_8).length - 2L * 30);
    }

    @Test
    void vocabulariesBeyond16BitsUseUint32Shards() throws Exception {
        StringBuilder text = new StringBuilder();
        // 74,884 distinct code points (CJK unified ideographs, Hangul syllables, CJK Extension B), so
        // the char vocabulary exceeds 65,536
        int[][] ranges = {{0x4E00, 0x9FFF}, {0xAC00, 0xD7A3}, {0x20000, 0x2A6DF}};
        int n = 0;
        for (int[] range : ranges) {
            for (int cp = range[0]; cp <= range[1]; cp++) {
                text.appendCodePoint(cp);
                if (++n % 8 == 0) {
                    text.append(' ');
                }
            }
        }
        Files.writeString(dir.resolve("wide.txt"), text);
        PrepareResult result = prepare(List.of(dir.resolve("wide.txt")), dir.resolve("out"), false,
                "tokenizer=char", "text_document_bytes=8192", "val_fraction=0.2", "max_mean_word_length=0");
        assertEquals(TokenWidth.UINT32, result.manifest().dtype());
        assertTrue(result.manifest().vocabSize() > 65_536);
        PreparedDataset data = PreparedDataset.open(result.directory());
        String all = data.tokenizer().decode(DatasetFixture.all(data.train()))
                + data.tokenizer().decode(DatasetFixture.all(data.val()));
        assertEquals(74_884, all.codePoints().filter(c -> c != ' ' && c != '\n').count());
        assertEquals(74_884 + 2, result.manifest().vocabSize()); // and ' ', and '\n' for the separator
        long bytes = Files.size(result.directory().resolve(result.manifest().shards().get(0).path()));
        assertEquals(4 * result.manifest().shards().get(0).tokens(), bytes);
    }

    @Test
    void aFailedRunLeavesNoManifestAndNoShards() throws Exception {
        Path corpus = Files.createDirectories(dir.resolve("corpus"));
        List<String> docs = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            docs.add(prose(i, 100));
        }
        jsonl(corpus.resolve("a.jsonl"), docs);
        Path out = dir.resolve("out");
        PrepareResult complete = prepare(List.of(corpus), out, false, "tokenizer=gpt2", "shard_tokens=200");
        assertTrue(PreparedDataset.isPrepared(out));
        assertEquals(shardFiles(out), complete.manifest().shards().stream().map(ShardInfo::path).sorted().toList());

        // gpt2 writes shards while it reads; a malformed line in the last file fails a strict run
        // after many shards are on disk. The old dataset is replaced (--force), so its manifest
        // must be gone too: nothing may look complete.
        Files.writeString(corpus.resolve("z.jsonl"), "{\"text\":\"" + prose(99, 100) + "\"}\n{\"text\":\n");
        DataException e = assertThrows(DataException.class, () -> prepare(List.of(corpus), out, true,
                "tokenizer=gpt2", "shard_tokens=200", "strict=true", "batch_bytes=100"));
        assertEquals(corpus.resolve("z.jsonl") + ":2: malformed JSONL line: malformed JSON (Unexpected end-of-input"
                + " within/between Object entries) (strict mode)", e.getMessage());
        assertFalse(Files.exists(out.resolve(Manifest.FILE_NAME)));
        assertEquals(List.of(), shardFiles(out));
        assertFalse(Files.exists(out.resolve(Tokenizer.FILE_NAME)));

        // a run stopped between passes (here by its listener) leaves no manifest either
        PrepareListener stopper = new PrepareListener() {
            @Override
            public void onPhaseStart(Phase phase, long totalBytes) {
                if (phase == Phase.TOKENIZE) {
                    throw new IllegalStateException("interrupted");
                }
            }
        };
        Files.delete(corpus.resolve("z.jsonl"));
        assertThrows(IllegalStateException.class, () -> prepare(List.of(corpus), out, false, stopper, "tokenizer=bpe",
                "vocab_size=300"));
        assertFalse(PreparedDataset.isPrepared(out));
        assertEquals(List.of(), shardFiles(out));
        // and the directory is reusable without --force: it holds no dataset
        prepare(List.of(corpus), out, false, "tokenizer=char");
        assertTrue(PreparedDataset.isPrepared(out));
    }

    @Test
    void badInputIsAOneLineErrorNamingThePath() throws Exception {
        Path corpus = Files.createDirectories(dir.resolve("corpus"));
        Files.writeString(corpus.resolve("a.txt"), prose(1, 50));
        Path out = dir.resolve("out");
        prepare(List.of(corpus), out, false, "val_fraction=0");

        assertOneLine(assertThrows(DataException.class, () -> prepare(List.of(corpus), out, false, "val_fraction=0")),
                "--out " + out + " already holds a prepared dataset; pass --force to replace it");
        prepare(List.of(corpus), out, true, "val_fraction=0");

        Path foreign = Files.createDirectories(dir.resolve("foreign"));
        Files.writeString(foreign.resolve("notes.txt"), "mine");
        assertOneLine(assertThrows(DataException.class, () -> prepare(List.of(corpus), foreign, true)),
                "--out " + foreign + " holds files troupe prepare did not write (e.g. notes.txt)");
        assertTrue(Files.exists(foreign.resolve("notes.txt")));

        assertOneLine(assertThrows(DataException.class, () -> prepare(List.of(dir.resolve("missing")), out, true)),
                "input " + dir.resolve("missing") + " does not exist");

        assertOneLine(assertThrows(DataException.class, () -> prepare(List.of(corpus), dir.resolve("empty"), false,
                "min_doc_chars=100000")), "the corpus is empty after filtering: all 1 documents were removed (1 too short)");
        assertFalse(Files.exists(dir.resolve("empty")));

        Files.write(corpus.resolve("b.txt"), new byte[] {1, 0, 2});
        assertOneLine(assertThrows(DataException.class, () -> prepare(List.of(corpus), dir.resolve("strict"), false,
                "strict=true")), corpus.resolve("b.txt") + " looks binary");

        assertOneLine(assertThrows(DataException.class, () -> prepare(List.of(corpus), dir.resolve("v"), false,
                "tokenizer=bpe", "vocab_size=100")), "vocab size 100 is out of range");
        assertOneLine(assertThrows(DataException.class, () -> prepare(List.of(corpus), dir.resolve("v"), false,
                "no_such_setting=1")), "unknown prepare setting 'no_such_setting'");
        assertOneLine(assertThrows(DataException.class, () -> prepare(List.of(corpus), dir.resolve("v"), false,
                "val_fraction=0.5")), "no document went to the");
    }

    private static void assertOneLine(DataException e, String start) {
        assertTrue(e.getMessage().startsWith(start), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
    }

    private static List<String> shardFiles(Path out) throws Exception {
        List<String> files = new ArrayList<>();
        for (Split split : Split.values()) {
            Path d = out.resolve(split.id());
            if (Files.isDirectory(d)) {
                try (Stream<Path> s = Files.list(d)) {
                    s.forEach(p -> files.add(split.id() + "/" + p.getFileName()));
                }
            }
        }
        return files.stream().sorted().toList();
    }
}
