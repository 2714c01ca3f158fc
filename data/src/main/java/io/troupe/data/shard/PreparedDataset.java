package io.troupe.data.shard;

import io.troupe.data.DataException;
import io.troupe.data.corpus.TokenSequence;
import io.troupe.data.corpus.TokenSplit;
import io.troupe.data.tokenize.Tokenizer;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * A dataset {@code troupe prepare} wrote: manifest, tokenizer and memory-mapped shards.
 * {@link #open} checks every shard's size and SHA-256 against the manifest before anything is
 * trained on it, so a truncated copy or a flipped bit is an error, not a silent change of data.
 */
public final class PreparedDataset {

    private final Path directory;
    private final Manifest manifest;
    private final Tokenizer tokenizer;
    private final MappedTokenSequence train;
    private final MappedTokenSequence val;

    private PreparedDataset(Path directory, Manifest manifest, Tokenizer tokenizer,
            MappedTokenSequence train, MappedTokenSequence val) {
        this.directory = directory;
        this.manifest = manifest;
        this.tokenizer = tokenizer;
        this.train = train;
        this.val = val;
    }

    /** Whether {@code dir} holds a complete prepared dataset (its manifest exists). */
    public static boolean isPrepared(Path dir) {
        return Files.isRegularFile(dir.resolve(Manifest.FILE_NAME));
    }

    /**
     * Opens and verifies a dataset.
     *
     * @throws DataException if the manifest or tokenizer is missing or malformed, they disagree,
     *     or a shard is missing, of the wrong size, or has another SHA-256
     */
    public static PreparedDataset open(Path dir) throws DataException {
        Path manifestFile = dir.resolve(Manifest.FILE_NAME);
        if (!Files.isRegularFile(manifestFile)) {
            throw new DataException(dir + " has no " + Manifest.FILE_NAME + ": it is not a prepared dataset,"
                    + " or its prepare did not finish; run troupe prepare --out " + dir);
        }
        Manifest manifest;
        try {
            manifest = Manifest.parse(Files.readString(manifestFile), manifestFile.toString());
        } catch (IOException e) {
            throw new DataException("cannot read " + manifestFile + ": " + e.getMessage(), e);
        }
        Tokenizer tokenizer = Tokenizer.load(dir.resolve(Tokenizer.FILE_NAME));
        if (!tokenizer.type().equals(manifest.tokenizer()) || tokenizer.vocabSize() != manifest.vocabSize()) {
            throw new DataException(dir.resolve(Tokenizer.FILE_NAME) + " is a " + tokenizer.type() + " tokenizer of "
                    + tokenizer.vocabSize() + " tokens but the manifest says " + manifest.tokenizer() + " of "
                    + manifest.vocabSize() + "; re-create the dataset with troupe prepare");
        }
        if (TokenWidth.forVocab(manifest.vocabSize()).bytes() > manifest.dtype().bytes()) {
            throw new DataException(manifestFile + ": dtype " + manifest.dtype().id() + " cannot hold "
                    + manifest.vocabSize() + " token ids; re-create the dataset with troupe prepare");
        }
        for (ShardInfo shard : manifest.shards()) {
            verify(dir, shard, manifest.dtype());
        }
        try {
            return new PreparedDataset(dir, manifest, tokenizer,
                    MappedTokenSequence.map(files(dir, manifest, Split.TRAIN), manifest.dtype()),
                    MappedTokenSequence.map(files(dir, manifest, Split.VAL), manifest.dtype()));
        } catch (IOException e) {
            throw new DataException("cannot map the shards of " + dir + ": " + e.getMessage(), e);
        }
    }

    /** The dataset's directory. */
    public Path directory() {
        return directory;
    }

    /** The manifest. */
    public Manifest manifest() {
        return manifest;
    }

    /** The tokenizer the shards were made with. */
    public Tokenizer tokenizer() {
        return tokenizer;
    }

    /** All train tokens, in shard order. */
    public TokenSequence train() {
        return train;
    }

    /** All val tokens, in shard order. */
    public TokenSequence val() {
        return val;
    }

    /**
     * The dataset as a train/val split for a model with context {@code blockSize}.
     *
     * @throws DataException if a split holds fewer than {@code blockSize + 1} tokens
     */
    public TokenSplit split(int blockSize) throws DataException {
        requireLongEnough(Split.TRAIN, train.length(), blockSize);
        requireLongEnough(Split.VAL, val.length(), blockSize);
        return new TokenSplit(train, val);
    }

    private void requireLongEnough(Split split, long tokens, int blockSize) throws DataException {
        if (tokens < blockSize + 1L) {
            throw new DataException("dataset " + directory + ": the " + split.id() + " split has " + tokens
                    + " tokens but block_size " + blockSize + " needs at least " + (blockSize + 1L)
                    + "; prepare more text, change val_fraction, or use a smaller block_size");
        }
    }

    private static List<Path> files(Path dir, Manifest manifest, Split split) {
        List<Path> files = new ArrayList<>();
        for (ShardInfo s : manifest.shards(split)) {
            files.add(dir.resolve(s.path()));
        }
        return files;
    }

    private static void verify(Path dir, ShardInfo shard, TokenWidth width) throws DataException {
        Path file = dir.resolve(shard.path());
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            long expected = shard.tokens() * width.bytes();
            if (channel.size() != expected) {
                throw new DataException("shard " + file + " has " + channel.size() + " bytes but the manifest says "
                        + shard.tokens() + " " + width.id() + " tokens (" + expected
                        + " bytes): it is truncated or replaced; re-create the dataset with troupe prepare");
            }
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            ByteBuffer buffer = ByteBuffer.allocate(1 << 20);
            while (channel.read(buffer) > 0) {
                buffer.flip();
                digest.update(buffer);
                buffer.clear();
            }
            String actual = HexFormat.of().formatHex(digest.digest());
            if (!actual.equals(shard.sha256())) {
                throw new DataException("shard " + file + " is corrupt: its SHA-256 is " + actual
                        + " but the manifest says " + shard.sha256() + "; re-create the dataset with troupe prepare");
            }
        } catch (java.nio.file.NoSuchFileException e) {
            throw new DataException("shard " + file + " listed in the manifest is missing; re-create the dataset"
                    + " with troupe prepare", e);
        } catch (IOException e) {
            throw new DataException("cannot read shard " + file + ": " + e.getMessage(), e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JVM has SHA-256", e);
        }
    }
}
