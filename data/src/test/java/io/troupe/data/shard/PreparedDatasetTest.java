package io.troupe.data.shard;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.troupe.data.DataException;
import io.troupe.data.corpus.TokenSplit;
import io.troupe.data.tokenize.CharTokenizer;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PreparedDatasetTest {

    @TempDir
    Path dir;

    private final CharTokenizer tokenizer = CharTokenizer.fromText("abcdefghij");

    @BeforeEach
    void writeDataset() throws Exception {
        List<ShardInfo> shards = new ArrayList<>();
        ShardWriter train = new ShardWriter(dir, Split.TRAIN, TokenWidth.UINT16, 30);
        train.write(IntStream.range(0, 50).map(i -> i % 10).toArray());
        shards.addAll(train.finish());
        ShardWriter val = new ShardWriter(dir, Split.VAL, TokenWidth.UINT16, 30);
        val.write(IntStream.range(0, 20).map(i -> 9 - i % 10).toArray());
        shards.addAll(val.finish());
        tokenizer.save(dir);
        Manifest manifest = new Manifest("char", 10, TokenWidth.UINT16, 3, 50, 20, shards,
                JsonNodeFactory.instance.objectNode(), JsonNodeFactory.instance.objectNode());
        Files.writeString(dir.resolve(Manifest.FILE_NAME), manifest.toJson());
    }

    @Test
    void opensVerifiedAndMapped() throws DataException {
        PreparedDataset dataset = PreparedDataset.open(dir);
        assertEquals(tokenizer, dataset.tokenizer());
        assertEquals(50, dataset.train().length());
        assertEquals(20, dataset.val().length());
        assertEquals(5, dataset.train().get(35));
        assertEquals(9, dataset.val().get(0));
        TokenSplit split = dataset.split(19);
        assertEquals(50, split.train().length());
        DataException tooShort = assertThrows(DataException.class, () -> dataset.split(20));
        assertTrue(tooShort.getMessage().contains("the val split has 20 tokens but block_size 20 needs at least 21"),
                tooShort.getMessage());
        assertEquals(3, dataset.manifest().shards().size());
        assertEquals(dataset.manifest(), Manifest.parse(dataset.manifest().toJson(), "x"));
    }

    @Test
    void aFlippedByteIsCaught() throws Exception {
        Path shard = dir.resolve("train/shard-000001.bin");
        try (RandomAccessFile file = new RandomAccessFile(shard.toFile(), "rw")) {
            file.seek(7);
            int b = file.read();
            file.seek(7);
            file.write(b ^ 0x01);
        }
        DataException e = assertThrows(DataException.class, () -> PreparedDataset.open(dir));
        assertTrue(e.getMessage().startsWith("shard " + shard + " is corrupt: its SHA-256 is "), e.getMessage());
        assertTrue(!e.getMessage().contains("\n"));
    }

    @Test
    void aTruncatedOrMissingShardIsCaught() throws Exception {
        Path shard = dir.resolve("val/shard-000000.bin");
        byte[] bytes = Files.readAllBytes(shard);
        Files.write(shard, java.util.Arrays.copyOf(bytes, bytes.length - 2));
        DataException truncated = assertThrows(DataException.class, () -> PreparedDataset.open(dir));
        assertTrue(truncated.getMessage().contains("has 38 bytes but the manifest says 20 uint16 tokens (40 bytes)"),
                truncated.getMessage());
        Files.delete(shard);
        DataException missing = assertThrows(DataException.class, () -> PreparedDataset.open(dir));
        assertTrue(missing.getMessage().contains("listed in the manifest is missing"), missing.getMessage());
    }

    @Test
    void aDirectoryWithoutManifestIsNotADataset() throws Exception {
        Files.delete(dir.resolve(Manifest.FILE_NAME));
        assertTrue(!PreparedDataset.isPrepared(dir));
        DataException e = assertThrows(DataException.class, () -> PreparedDataset.open(dir));
        assertTrue(e.getMessage().contains("has no manifest.json: it is not a prepared dataset, or its prepare did"
                + " not finish"), e.getMessage());
    }

    @Test
    void aManifestThatDisagreesWithTheTokenizerIsRejected() throws Exception {
        Path manifest = dir.resolve(Manifest.FILE_NAME);
        Files.writeString(manifest, Files.readString(manifest).replace("\"vocab_size\" : 10", "\"vocab_size\" : 11"));
        DataException e = assertThrows(DataException.class, () -> PreparedDataset.open(dir));
        assertTrue(e.getMessage().contains("but the manifest says char of 11"), e.getMessage());
        Files.writeString(manifest, "{\"format\":\"something-else\"}");
        assertThrows(DataException.class, () -> PreparedDataset.open(dir));
    }
}
