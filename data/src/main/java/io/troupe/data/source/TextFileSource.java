package io.troupe.data.source;

import io.troupe.data.DataException;
import io.troupe.data.corpus.DataIdentity;
import io.troupe.data.corpus.DataKind;
import io.troupe.data.corpus.TextCorpus;
import io.troupe.data.corpus.TokenSequence;
import io.troupe.data.corpus.TokenSplit;
import io.troupe.data.tokenize.CharTokenizer;
import io.troupe.data.tokenize.Tokenizer;
import java.nio.file.Path;
import java.security.MessageDigest;

/**
 * A UTF-8 text file: read, validated and hashed when opened, tokenized on first use through the
 * cache. The decoded text stays with this object (to encode it on a cache miss); the tokens,
 * once fetched, stay with it too, so a holder of the source keeps the cache entry alive.
 */
final class TextFileSource implements DataSource {
    private final TextCorpus corpus;
    private final DataIdentity identity;
    private final Tokenizer tokenizer;
    private final String tokenizerSha256;
    private final TokenCache cache;
    private TokenSequence tokens;

    private TextFileSource(TextCorpus corpus, DataIdentity identity, Tokenizer tokenizer, TokenCache cache) {
        this.corpus = corpus;
        this.identity = identity;
        this.tokenizer = tokenizer;
        this.tokenizerSha256 = Sha256.of(tokenizer.toJson());
        this.cache = cache;
    }

    static TextFileSource open(Path path, TokenCache cache) throws DataException {
        MessageDigest digest = Sha256.digest();
        TextCorpus corpus = TextCorpus.load(path, digest);
        DataIdentity identity = new DataIdentity(path.toString(), DataKind.TEXT_FILE, Sha256.hex(digest));
        return new TextFileSource(corpus, identity, CharTokenizer.fromText(corpus.text()), cache);
    }

    @Override
    public DataIdentity identity() {
        return identity;
    }

    @Override
    public String description() {
        return String.format("text file %s (%,d characters, %s tokenizer of %,d ids, sha256 %s)", identity.path(),
                corpus.text().length(), tokenizer.type(), tokenizer.vocabSize(), Sha256.shortForm(identity.sha256()));
    }

    @Override
    public Tokenizer tokenizer() {
        return tokenizer;
    }

    @Override
    public DataSource withTokenizer(Tokenizer other, String whose) {
        if (Sha256.of(other.toJson()).equals(tokenizerSha256)) {
            return this;
        }
        return new TextFileSource(corpus, identity, other, cache);
    }

    @Override
    public TokenSplit split(int blockSize) throws DataException {
        try {
            return TokenSplit.of(scoredTokens(), blockSize).withOrigin(identity);
        } catch (DataException e) {
            throw new DataException("corpus " + identity.path() + ": " + e.getMessage(), e);
        }
    }

    @Override
    public synchronized TokenSequence scoredTokens() throws DataException {
        if (tokens == null) {
            TokenCache.Key key = new TokenCache.Key(corpus.path(), identity.sha256(), tokenizerSha256, "");
            tokens = cache.get(key, TokenSequence.class, this::encode);
        }
        return tokens;
    }

    private TokenSequence encode() throws DataException {
        int[] ids;
        try {
            ids = tokenizer.encode(corpus.text());
        } catch (IllegalArgumentException e) {
            throw new DataException("corpus " + identity.path() + " cannot be encoded with the " + tokenizer.type()
                    + " tokenizer: " + e.getMessage(), e);
        }
        return TokenSequence.of(ids, tokenizer.vocabSize());
    }
}
