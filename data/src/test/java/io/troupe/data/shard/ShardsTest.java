package io.troupe.data.shard;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.troupe.data.corpus.TokenSequence;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ShardsTest {

    @TempDir
    Path dir;

    @Test
    void uint16ShardsRollOverAndReadBackAsOneSequence() throws Exception {
        ShardWriter writer = new ShardWriter(dir, Split.TRAIN, TokenWidth.UINT16, 4);
        writer.write(new int[] {0, 1, 65535});
        writer.write(new int[] {3, 4, 5, 6, 7, 8});
        writer.write(new int[] {});
        List<ShardInfo> shards = writer.finish();
        assertEquals(List.of("train/shard-000000.bin", "train/shard-000001.bin", "train/shard-000002.bin"),
                shards.stream().map(ShardInfo::path).toList());
        assertEquals(List.of(4L, 4L, 1L), shards.stream().map(ShardInfo::tokens).toList());
        byte[] first = Files.readAllBytes(dir.resolve("train/shard-000000.bin"));
        // little-endian uint16, as numpy's np.uint16 .bin files
        assertArrayEquals(new byte[] {0, 0, 1, 0, -1, -1, 3, 0}, first);
        assertEquals(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(first)),
                shards.get(0).sha256());
        try (var files = Files.list(dir.resolve("train"))) {
            assertEquals(3, files.count(), "no temporary files remain");
        }

        MappedTokenSequence tokens = MappedTokenSequence.map(shards.stream().map(s -> dir.resolve(s.path())).toList(),
                TokenWidth.UINT16);
        assertEquals(9, tokens.length());
        assertEquals(65535, tokens.get(2));
        long[] out = new long[6];
        tokens.copyTo(2, out, 0, 6); // crosses two shard boundaries
        assertArrayEquals(new long[] {65535, 3, 4, 5, 6, 7}, out);
        TokenSequence slice = tokens.slice(3, 9).slice(1, 5);
        assertEquals(4, slice.length());
        assertEquals(4, slice.get(0));
        assertThrows(IndexOutOfBoundsException.class, () -> slice.get(4));
        assertThrows(IndexOutOfBoundsException.class, () -> tokens.copyTo(5, out, 0, 5));
    }

    @Test
    void uint32ShardsHoldLargeIds() throws Exception {
        assertEquals(TokenWidth.UINT16, TokenWidth.forVocab(65536));
        assertEquals(TokenWidth.UINT32, TokenWidth.forVocab(65537));
        ShardWriter writer = new ShardWriter(dir, Split.VAL, TokenWidth.UINT32, 1000);
        writer.write(new int[] {70000, 1, 1 << 20});
        List<ShardInfo> shards = writer.finish();
        Path file = dir.resolve("val/shard-000000.bin");
        ByteBuffer bytes = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(12, bytes.capacity());
        assertEquals(70000, bytes.getInt(0));
        MappedTokenSequence tokens = MappedTokenSequence.map(List.of(file), TokenWidth.UINT32);
        long[] out = new long[3];
        tokens.copyTo(0, out, 0, 3);
        assertArrayEquals(new long[] {70000, 1, 1 << 20}, out);
        assertEquals(1, shards.size());
        ShardWriter narrow = new ShardWriter(dir, Split.TRAIN, TokenWidth.UINT16, 10);
        assertThrows(IllegalStateException.class, () -> narrow.write(new int[] {65536}));
        narrow.abort();
    }

    @Test
    void abortRemovesEveryShard() throws Exception {
        ShardWriter writer = new ShardWriter(dir, Split.TRAIN, TokenWidth.UINT16, 2);
        writer.write(IntStream.range(0, 5).toArray());
        writer.abort();
        try (var files = Files.list(dir.resolve("train"))) {
            assertEquals(0, files.count());
        }
    }
}
