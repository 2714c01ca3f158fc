package io.troupe.data.source;

import io.troupe.data.DataException;
import io.troupe.data.corpus.DataIdentity;
import io.troupe.data.corpus.DataKind;
import io.troupe.data.corpus.TokenSequence;
import io.troupe.data.corpus.TokenSplit;
import io.troupe.data.shard.Manifest;
import io.troupe.data.shard.PreparedDataset;
import io.troupe.data.shard.ShardInfo;
import io.troupe.data.tokenize.Tokenizer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A dataset directory from {@code troupe prepare}. Its identity hash is the manifest's SHA-256;
 * the manifest holds each shard's SHA-256, and the shards are verified against it the first
 * time this process opens that manifest (later opens share the verified, mapped dataset).
 */
final class PreparedDatasetSource implements DataSource {
    private final DataIdentity identity;
    private final PreparedDataset dataset;
    private final String tokenizerSha256;

    private PreparedDatasetSource(DataIdentity identity, PreparedDataset dataset, String tokenizerSha256) {
        this.identity = identity;
        this.dataset = dataset;
        this.tokenizerSha256 = tokenizerSha256;
    }

    static PreparedDatasetSource open(Path dir, TokenCache cache) throws DataException {
        Path manifestFile = dir.resolve(Manifest.FILE_NAME);
        byte[] manifest;
        try {
            manifest = Files.readAllBytes(manifestFile);
        } catch (IOException e) {
            throw new DataException("cannot read " + manifestFile + ": " + e.getMessage()
                    + "; check the file's permissions", e);
        }
        DataIdentity identity = new DataIdentity(dir.toString(), DataKind.PREPARED_DATASET, Sha256.of(manifest));
        // The manifest names the tokenizer's type and size only, so its JSON is part of the key.
        String tokenizerSha256 = Sha256.of(Tokenizer.load(dir.resolve(Tokenizer.FILE_NAME)).toJson());
        TokenCache.Key key = new TokenCache.Key(dir, identity.sha256(), tokenizerSha256,
                shardStamp(dir, Manifest.parse(new String(manifest, StandardCharsets.UTF_8), manifestFile.toString())));
        PreparedDataset dataset = cache.get(key, PreparedDataset.class, () -> PreparedDataset.open(dir));
        return new PreparedDatasetSource(identity, dataset, tokenizerSha256);
    }

    /**
     * The shards' sizes and modification times: cheap to read, and changed by any write, so a
     * shard rewritten in place (same manifest) is not taken from the cache unverified.
     */
    private static String shardStamp(Path dir, Manifest manifest) {
        StringBuilder stamp = new StringBuilder();
        for (ShardInfo shard : manifest.shards()) {
            Path file = dir.resolve(shard.path());
            try {
                stamp.append(Files.size(file)).append('@').append(Files.getLastModifiedTime(file));
            } catch (IOException e) {
                stamp.append("missing"); // PreparedDataset.open names the missing shard
            }
            stamp.append(';');
        }
        return stamp.toString();
    }

    @Override
    public DataIdentity identity() {
        return identity;
    }

    @Override
    public String description() {
        Manifest m = dataset.manifest();
        return String.format("dataset %s (%s tokenizer of %,d ids, %,d train + %,d val tokens, sha256 %s)",
                identity.path(), m.tokenizer(), m.vocabSize(), m.trainTokens(), m.valTokens(),
                Sha256.shortForm(identity.sha256()));
    }

    @Override
    public Tokenizer tokenizer() {
        return dataset.tokenizer();
    }

    @Override
    public DataSource withTokenizer(Tokenizer other, String whose) throws DataException {
        if (Sha256.of(other.toJson()).equals(tokenizerSha256)) {
            return this;
        }
        Tokenizer own = dataset.tokenizer();
        String same = own.type().equals(other.type()) && own.vocabSize() == other.vocabSize()
                ? " (same type and size, other vocabulary)" : "";
        throw new DataException("dataset " + identity.path() + " was tokenized with a " + own.type() + " tokenizer of "
                + own.vocabSize() + " ids, not with " + whose + " " + other.type() + " tokenizer of "
                + other.vocabSize() + " ids" + same + "; use data tokenized with " + whose
                + " tokenizer, e.g. a text file, or prepare the dataset again with it");
    }

    @Override
    public TokenSplit split(int blockSize) throws DataException {
        return dataset.split(blockSize).withOrigin(identity);
    }

    @Override
    public TokenSequence scoredTokens() {
        return dataset.val();
    }
}
