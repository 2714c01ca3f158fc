package io.troupe.data.prepare;

import io.troupe.data.report.Counter;
import io.troupe.data.report.Counters;
import io.troupe.data.shard.ShardInfo;
import io.troupe.data.shard.ShardWriter;
import io.troupe.data.shard.Split;
import io.troupe.data.shard.TokenWidth;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The train and val {@link ShardWriter}s of one dataset, fed tokenized documents in order. */
final class SplitWriters {

    private final ShardWriter train;
    private final ShardWriter val;
    private final Counters counters;

    SplitWriters(Path dir, TokenWidth width, long shardTokens, Counters counters) {
        this.train = new ShardWriter(dir, Split.TRAIN, width, shardTokens);
        this.val = new ShardWriter(dir, Split.VAL, width, shardTokens);
        this.counters = counters;
    }

    /** Writes a document's tokens to its split (a stream stage: I/O errors are unchecked). */
    void write(TokenizedDocument doc) {
        try {
            if (doc.split() == Split.TRAIN) {
                train.write(doc.ids());
                counters.add(Counter.TOKENS_TRAIN, doc.ids().length);
            } else {
                val.write(doc.ids());
                counters.add(Counter.TOKENS_VAL, doc.ids().length);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write a " + doc.split().id() + " shard: " + e.getMessage(), e);
        }
    }

    /** Completes both splits; train shards first. */
    List<ShardInfo> finish() throws IOException {
        List<ShardInfo> all = new ArrayList<>(train.finish());
        all.addAll(val.finish());
        return all;
    }

    /** Deletes every shard written. */
    void abort() {
        train.abort();
        val.abort();
    }
}
