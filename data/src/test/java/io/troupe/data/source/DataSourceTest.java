package io.troupe.data.source;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.troupe.data.DataException;
import io.troupe.data.corpus.DataKind;
import io.troupe.data.corpus.TokenSequence;
import io.troupe.data.corpus.TokenSplit;
import io.troupe.data.prepare.PrepareListener;
import io.troupe.data.prepare.PrepareRequest;
import io.troupe.data.prepare.PrepareSettings;
import io.troupe.data.prepare.Preparer;
import io.troupe.data.tokenize.CharTokenizer;
import io.troupe.data.tokenize.Gpt2Tokenizer;
import io.troupe.data.tokenize.Tokenizer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DataSourceTest {
    private static final String TEXT = "the quick brown fox jumps over the lazy dog. ".repeat(20);

    @TempDir
    Path tmp;

    @Test
    void aTextFileIsIdentifiedByItsPathAsGivenAndTheSha256OfItsBytes() throws Exception {
        Path file = Files.writeString(tmp.resolve("corpus.txt"), TEXT);
        DataSource source = DataSource.open(file, new TokenCache());

        assertEquals(file.toString(), source.identity().path());
        assertEquals(DataKind.TEXT_FILE, source.identity().kind());
        assertEquals(sha256(Files.readAllBytes(file)), source.identity().sha256());
        assertEquals(CharTokenizer.TYPE, source.tokenizer().type());
        assertTrue(source.description().startsWith("text file " + file + " (900 characters"), source.description());

        TokenSplit split = source.split(8);
        assertEquals(810, split.train().length(), "90% of the tokens train");
        assertEquals(90, split.val().length());
        assertSame(source.identity(), split.origin());
        assertEquals(900, source.scoredTokens().length(), "eval scores the whole text");
    }

    @Test
    void twoOpensOfTheSameFileShareOneTokenizedCorpus() throws Exception {
        Path file = Files.writeString(tmp.resolve("corpus.txt"), TEXT);
        TokenCache cache = new TokenCache();
        int[] encodes = {0};
        Tokenizer counting = countingTokenizer(CharTokenizer.fromText(TEXT), encodes);

        DataSource first = DataSource.open(file, cache).withTokenizer(counting, "the test's");
        TokenSequence tokens = first.scoredTokens();
        DataSource second = DataSource.open(file, cache).withTokenizer(counting, "the test's");

        assertSame(tokens, second.scoredTokens());
        assertEquals(1, encodes[0], "the text is tokenized once");
        assertEquals(1, cache.liveEntries());
    }

    @Test
    void concurrentOpensWaitForOneTokenization() throws Exception {
        Path file = Files.writeString(tmp.resolve("corpus.txt"), TEXT);
        TokenCache cache = new TokenCache();
        int[] encodes = {0};
        Tokenizer counting = countingTokenizer(CharTokenizer.fromText(TEXT), encodes);
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(4);
        try {
            java.util.concurrent.CountDownLatch start = new java.util.concurrent.CountDownLatch(1);
            List<java.util.concurrent.Future<TokenSequence>> opens = new java.util.ArrayList<>();
            for (int i = 0; i < 4; i++) {
                opens.add(pool.submit(() -> {
                    start.await();
                    return DataSource.open(file, cache).withTokenizer(counting, "the test's").scoredTokens();
                }));
            }
            start.countDown();
            TokenSequence first = opens.get(0).get();
            for (java.util.concurrent.Future<TokenSequence> open : opens) {
                assertSame(first, open.get());
            }
        } finally {
            pool.shutdownNow();
        }
        synchronized (encodes) {
            assertEquals(1, encodes[0]);
        }
    }

    @Test
    void aChangedFileIsReadAgain() throws Exception {
        Path file = Files.writeString(tmp.resolve("corpus.txt"), TEXT);
        TokenCache cache = new TokenCache();
        DataSource before = DataSource.open(file, cache);
        TokenSequence old = before.scoredTokens();

        Files.writeString(file, TEXT + "and again.");
        DataSource after = DataSource.open(file, cache);

        assertNotEquals(before.identity().sha256(), after.identity().sha256());
        assertNotSame(old, after.scoredTokens());
        assertEquals(TEXT.length() + "and again.".length(), after.scoredTokens().length());
        assertEquals(2, cache.liveEntries());
    }

    @Test
    void anotherTokenizerIsAnotherEntry() throws Exception {
        Path file = Files.writeString(tmp.resolve("corpus.txt"), TEXT);
        TokenCache cache = new TokenCache();
        TokenSequence chars = DataSource.open(file, cache).scoredTokens();
        TokenSequence gpt2 = DataSource.open(file, cache).withTokenizer(Gpt2Tokenizer.get(), "the test's")
                .scoredTokens();

        assertNotSame(chars, gpt2);
        assertTrue(gpt2.length() < chars.length(), "BPE tokens span several characters");
    }

    @Test
    void aPreparedDatasetIsIdentifiedByItsManifestAndSharedAcrossOpens() throws Exception {
        Path dataset = prepareGpt2(tmp.resolve("ds"));
        TokenCache cache = new TokenCache();
        DataSource first = DataSource.open(dataset, cache);
        DataSource second = DataSource.open(dataset, cache);

        assertEquals(DataKind.PREPARED_DATASET, first.identity().kind());
        assertEquals(sha256(Files.readAllBytes(dataset.resolve("manifest.json"))), first.identity().sha256());
        assertEquals(Gpt2Tokenizer.TYPE, first.tokenizer().type());
        assertTrue(first.description().startsWith("dataset " + dataset + " (gpt2 tokenizer of 50,257 ids"),
                first.description());
        assertSame(first.scoredTokens(), second.scoredTokens(), "one mapped dataset per process");
        TokenSplit split = first.split(8);
        assertSame(first.scoredTokens(), split.val(), "eval scores a dataset's val split");
        assertEquals(first.identity(), split.origin());
        assertSame(first, first.withTokenizer(Gpt2Tokenizer.get(), "the model's"));
    }

    @Test
    void aShardChangedInPlaceIsVerifiedAgain() throws Exception {
        Path dataset = prepareGpt2(tmp.resolve("ds"));
        TokenCache cache = new TokenCache();
        DataSource first = DataSource.open(dataset, cache);
        Path shard = dataset.resolve("train/shard-000000.bin");
        byte[] bytes = Files.readAllBytes(shard);
        bytes[3] ^= 0x40;
        Files.write(shard, bytes);
        // Coarse file-system clocks could give the rewrite the old time; a real rewrite comes later.
        Files.setLastModifiedTime(shard, java.nio.file.attribute.FileTime.fromMillis(
                Files.getLastModifiedTime(shard).toMillis() + 2000));

        DataException e = assertThrows(DataException.class, () -> DataSource.open(dataset, cache));
        assertTrue(e.getMessage().startsWith("shard " + shard + " is corrupt"), e.getMessage());
        first.scoredTokens(); // held until here
    }

    @Test
    void aDatasetRefusesAnotherTokenizer() throws Exception {
        Path dataset = prepareGpt2(tmp.resolve("ds"));
        DataException e = assertThrows(DataException.class, () -> DataSource.open(dataset, new TokenCache())
                .withTokenizer(CharTokenizer.fromText(TEXT), "the model's"));
        assertEquals("dataset " + dataset + " was tokenized with a gpt2 tokenizer of 50257 ids, not with the model's"
                + " char tokenizer of 28 ids; use data tokenized with the model's tokenizer, e.g. a text file, or"
                + " prepare the dataset again with it", e.getMessage());
    }

    @Test
    void aDifferentHashIsRefusedNamingBoth() throws Exception {
        Path file = Files.writeString(tmp.resolve("corpus.txt"), TEXT);
        DataSource source = DataSource.open(file, new TokenCache());
        assertSame(source, source.requireSha256(source.identity().sha256(), "the coordinator's"));
        DataException e = assertThrows(DataException.class,
                () -> source.requireSha256("0".repeat(64), "the coordinator's"));
        assertTrue(e.getMessage().startsWith("the text file at " + file + " differs from the coordinator's (sha256 "),
                e.getMessage());
    }

    @Test
    void aFolderThatIsNoDatasetGetsAHintToPrepareIt() throws Exception {
        Path folder = Files.createDirectories(tmp.resolve("texts"));
        DataException e = assertThrows(DataException.class, () -> DataSource.open(folder));
        assertTrue(e.getMessage().contains("troupe prepare --input " + folder + " --out DATASET_DIR"), e.getMessage());
    }

    @Test
    void tokensMadeInMemoryHaveNoOrigin() throws Exception {
        assertNull(TokenSplit.of(TokenSequence.of(new int[100], 2), 4).origin());
    }

    private static Path prepareGpt2(Path out) throws Exception {
        Path input = Files.createDirectories(out.resolveSibling("input"));
        String[] words = {"river", "stone", "garden", "morning", "letter", "window", "travel", "quiet", "winter",
            "candle", "harbor", "silver", "market", "meadow", "thunder", "lantern", "orchard", "village"};
        java.util.Random random = new java.util.Random(7);
        for (int i = 0; i < 20; i++) {
            StringBuilder doc = new StringBuilder("Document " + i + " tells of");
            for (int w = 0; w < 60; w++) {
                doc.append(' ').append(words[random.nextInt(words.length)]);
            }
            Files.writeString(input.resolve("doc" + i + ".txt"), doc.append('.').toString());
        }
        Preparer.run(new PrepareRequest(List.of(input), out, false, PrepareSettings.load(
                Map.of("tokenizer", "gpt2", "threads", "1", "val_fraction", "0.3"))), PrepareListener.NONE);
        return out;
    }

    private static String sha256(byte[] bytes) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    }

    /** A tokenizer that counts its encode calls. */
    private static Tokenizer countingTokenizer(Tokenizer inner, int[] encodes) {
        return new Tokenizer() {
            @Override
            public String type() {
                return inner.type();
            }

            @Override
            public int vocabSize() {
                return inner.vocabSize();
            }

            @Override
            public int[] encode(String text) {
                synchronized (encodes) {
                    encodes[0]++;
                }
                return inner.encode(text);
            }

            @Override
            public String decode(int[] tokens) {
                return inner.decode(tokens);
            }

            @Override
            public String toJson() {
                return "{\"counting\":" + inner.toJson() + "}"; // another tokenizer, as the cache sees it
            }
        };
    }
}
