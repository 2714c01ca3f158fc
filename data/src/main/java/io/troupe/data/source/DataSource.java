package io.troupe.data.source;

import io.troupe.data.DataException;
import io.troupe.data.corpus.DataIdentity;
import io.troupe.data.corpus.DataKind;
import io.troupe.data.corpus.TokenSequence;
import io.troupe.data.corpus.TokenSplit;
import io.troupe.data.shard.Manifest;
import io.troupe.data.shard.PreparedDataset;
import io.troupe.data.tokenize.Tokenizer;
import java.io.IOException;
import java.nio.file.Path;

/**
 * The data a command trains on or scores, whatever lies at its path: every command that takes
 * {@code --data} (train, train --workers, coordinator and its workers, tune, eval) opens it
 * through {@link #open(Path)} and asks only what this interface answers, so it never tests
 * what kind of data it has.
 *
 * <p>A source yields the tokenizer its tokens are made with, the train/val token split, the
 * tokens {@code troupe eval} scores, and an {@link DataIdentity} (the path as given, the kind and
 * a content hash) that a job file, a run's summary and a worker's check use. Tokenizing is the
 * dear part, and it happens at most once per process for one identity and tokenizer: see
 * {@link TokenCache}.
 *
 * <p>Kinds today: a UTF-8 text file (char-level tokenizer from its own characters, unless
 * {@link #withTokenizer} gives another; split 90/10 by tokens) and a directory written by
 * {@code troupe prepare} (its tokenizer.json, its memory-mapped train and val shards).
 *
 * <p><b>Adding a kind.</b> Labelled examples (text and label, for classification fine-tuning)
 * come as one more implementation of this interface, with its own {@link
 * DataKind}, that {@link #open} picks by what lies at the path (a manifest
 * whose content says so, or a labelled-examples file). Its identity, tokenizer and description
 * work as for the others; it adds an accessor for the examples that the fine-tuning code asks
 * for, while {@link #split} answers with a one-line {@link DataException} saying the data holds
 * labelled examples, not a token stream for language-model training. The callers of today need
 * no change: they already get a clear error for data they cannot use.
 */
public interface DataSource {

    /**
     * Opens the data at {@code path}, through the process-wide {@link TokenCache#shared() cache}.
     * A text file is read and hashed; a dataset's manifest is hashed and, the first time in this
     * process, its shards are verified against it.
     *
     * @throws DataException if nothing usable lies at the path; the message names the path and
     *     the fix
     */
    static DataSource open(Path path) throws DataException {
        return open(path, TokenCache.shared());
    }

    /** As {@link #open(Path)}, with another cache (tests). */
    static DataSource open(Path path, TokenCache cache) throws DataException {
        if (DataKind.of(path) == DataKind.PREPARED_DATASET) {
            if (!PreparedDataset.isPrepared(path)) {
                throw new DataException(path + " has no manifest.json: it is not a prepared dataset; pass a UTF-8"
                        + " text file, or make a dataset of the folder first with troupe prepare --input " + path
                        + " --out DATASET_DIR");
            }
            return PreparedDatasetSource.open(path, cache);
        }
        return TextFileSource.open(path, cache);
    }

    /**
     * The content hash {@link #open} gives the data at {@code path} ({@link DataIdentity#sha256()}:
     * of a text file's bytes, of a dataset's manifest), without reading or verifying anything else.
     *
     * @throws IOException if the file (or the dataset's manifest) cannot be read
     */
    static String sha256(Path path) throws IOException {
        return Sha256.ofFile(DataKind.of(path) == DataKind.PREPARED_DATASET ? path.resolve(Manifest.FILE_NAME) : path);
    }

    /** The path as given, the kind and the content hash. */
    DataIdentity identity();

    /** One line for a log or a progress header, e.g. "text file input.txt (1,115,394 characters, sha256 3a0b...)". */
    String description();

    /** The tokenizer this source's tokens are made with. */
    Tokenizer tokenizer();

    /**
     * This data tokenized with {@code tokenizer}: the same source if it already is, a text file
     * encoded with it, and for data whose tokens are fixed (a dataset) a refusal when it differs.
     *
     * @param whose names the tokenizer's owner in a message, e.g. "the model's" or "the coordinator's"
     * @throws DataException if the data cannot be tokenized with it
     */
    DataSource withTokenizer(Tokenizer tokenizer, String whose) throws DataException;

    /**
     * The train and val tokens for a model of context {@code blockSize}, named by {@link #identity()}.
     * Views of the shared tokens: nothing is copied.
     *
     * @throws DataException if the text cannot be encoded, or a split is shorter than {@code blockSize + 1}
     */
    TokenSplit split(int blockSize) throws DataException;

    /**
     * The tokens {@code troupe eval} scores: all of a text file, the val split of a dataset
     * (its train split is what the model saw).
     *
     * @throws DataException if the text cannot be encoded
     */
    TokenSequence scoredTokens() throws DataException;

    /**
     * Refuses this source unless its content hash is {@code expectedSha256}.
     *
     * @param whose names the other side, e.g. "the coordinator's"
     * @return this source
     * @throws DataException naming both hashes and the fix
     */
    default DataSource requireSha256(String expectedSha256, String whose) throws DataException {
        identity().requireSha256(expectedSha256, whose);
        return this;
    }
}
