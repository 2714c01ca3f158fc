package io.troupe.data.shard;

import io.troupe.data.io.AtomicFiles;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * Writes one split's tokens into shard files {@code DIR/<split>/shard-NNNNNN.bin} of
 * {@code shardTokens} tokens each (the last one shorter), computing each file's SHA-256 as it
 * goes. A shard is written under a temporary name and renamed when complete and synced, so a
 * shard file with its final name is never partial.
 *
 * <p>Not thread-safe: one writer per split, fed in stream order.
 */
public final class ShardWriter {

    private static final int BUFFER_BYTES = 1 << 20;

    private final Path directory;
    private final Split split;
    private final TokenWidth width;
    private final long shardTokens;
    private final int maxId;
    private final ByteBuffer buffer = ByteBuffer.allocate(BUFFER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
    private final List<ShardInfo> finished = new ArrayList<>();
    private final List<Path> written = new ArrayList<>();
    private FileChannel channel;
    private Path temp;
    private MessageDigest digest;
    private long tokensInShard;
    private long tokens;

    /**
     * @param datasetDir the dataset directory; shards go to its {@code split.id()} subdirectory
     * @param split the split written
     * @param width the storage width
     * @param shardTokens tokens per shard file
     */
    public ShardWriter(Path datasetDir, Split split, TokenWidth width, long shardTokens) {
        if (shardTokens < 1) {
            throw new IllegalArgumentException("shardTokens must be >= 1, got " + shardTokens);
        }
        this.directory = datasetDir.resolve(split.id());
        this.split = split;
        this.width = width;
        this.shardTokens = shardTokens;
        // ids are Java ints: uint32 shards hold 0 to 2^31 - 1
        this.maxId = width == TokenWidth.UINT16 ? 0xFFFF : Integer.MAX_VALUE;
    }

    /** Appends tokens, starting new shard files as they fill. */
    public void write(int[] ids) throws IOException {
        int i = 0;
        while (i < ids.length) {
            if (channel == null) {
                open();
            }
            if (buffer.remaining() < width.bytes()) {
                flush();
            }
            // A run that fits both the buffer and the current shard, packed with plain array
            // stores: this loop runs once per token of the corpus.
            int n = (int) Math.min(Math.min(ids.length - i, buffer.remaining() / width.bytes()),
                    shardTokens - tokensInShard);
            byte[] out = buffer.array();
            int p = buffer.position();
            int or = 0;
            if (width == TokenWidth.UINT16) {
                for (int k = 0; k < n; k++) {
                    int id = ids[i + k];
                    or |= id;
                    out[p + 2 * k] = (byte) id;
                    out[p + 2 * k + 1] = (byte) (id >>> 8);
                }
            } else {
                for (int k = 0; k < n; k++) {
                    int id = ids[i + k];
                    or |= id;
                    out[p + 4 * k] = (byte) id;
                    out[p + 4 * k + 1] = (byte) (id >>> 8);
                    out[p + 4 * k + 2] = (byte) (id >>> 16);
                    out[p + 4 * k + 3] = (byte) (id >>> 24);
                }
            }
            if ((or & ~maxId) != 0) { // a negative id sets the sign bit, so it is caught too
                for (int k = 0; k < n; k++) {
                    if (ids[i + k] < 0 || (ids[i + k] & ~maxId) != 0) {
                        throw new IllegalStateException("token id " + ids[i + k] + " does not fit " + width.id());
                    }
                }
            }
            buffer.position(p + n * width.bytes());
            i += n;
            tokens += n;
            tokensInShard += n;
            if (tokensInShard == shardTokens) {
                close();
            }
        }
    }

    /** Tokens written so far. */
    public long tokens() {
        return tokens;
    }

    /**
     * Completes the last shard and syncs the directory.
     *
     * @return every shard written, in order
     */
    public List<ShardInfo> finish() throws IOException {
        if (channel != null) {
            close();
        }
        if (Files.isDirectory(directory)) {
            AtomicFiles.fsyncDirectory(directory);
        }
        return List.copyOf(finished);
    }

    /** Deletes every file this writer made, finished shards included. Never throws. */
    public void abort() {
        try {
            if (channel != null) {
                channel.close();
            }
        } catch (IOException ignored) {
            // the file is deleted next anyway
        }
        channel = null;
        for (Path p : written) {
            try {
                Files.deleteIfExists(p);
            } catch (IOException ignored) {
                // best effort: without a manifest the directory never looks complete
            }
        }
        if (temp != null) {
            try {
                Files.deleteIfExists(temp);
            } catch (IOException ignored) {
                // as above
            }
        }
    }

    private void open() throws IOException {
        Files.createDirectories(directory);
        String name = String.format("shard-%06d.bin", finished.size());
        temp = directory.resolve("." + name + AtomicFiles.TEMP_SUFFIX);
        channel = FileChannel.open(temp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE);
        try {
            digest = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JVM has SHA-256", e);
        }
        tokensInShard = 0;
    }

    private void flush() throws IOException {
        buffer.flip();
        digest.update(buffer.array(), 0, buffer.limit());
        while (buffer.hasRemaining()) {
            channel.write(buffer);
        }
        buffer.clear();
    }

    private void close() throws IOException {
        flush();
        channel.force(true);
        channel.close();
        channel = null;
        String name = String.format("shard-%06d.bin", finished.size());
        Path target = directory.resolve(name);
        try {
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            throw new IOException("cannot atomically rename " + temp + " to " + target
                    + "; write the dataset to a local disk", e);
        }
        temp = null;
        written.add(target);
        finished.add(new ShardInfo(split.id() + "/" + name, split, tokensInShard,
                HexFormat.of().formatHex(digest.digest())));
    }
}
