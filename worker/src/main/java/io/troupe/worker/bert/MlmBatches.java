package io.troupe.worker.bert;

import io.troupe.data.tokenize.HfJsonTokenizer;
import io.troupe.data.tokenize.Tokenizer;
import java.nio.LongBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;

/**
 * Turns windows of the token stream into masked-language-model rows for {@code train --arch bert}:
 * each row of T tokens becomes {@code [CLS] w_1 .. w_{T-2} [SEP]} (the window's first T-2 tokens
 * between the two specials, as an encoder sees a text at fine-tuning and embedding time), then
 * {@link MlmMasking} corrupts it and writes the targets.
 *
 * <p>The mask of a row is a function of (seed, key) only ({@link MlmMasking#applyKeyed}): training
 * rows are keyed by their global sample number, so masks do not depend on who computes a row,
 * in which micro-batch, or whether the run was resumed.
 */
public final class MlmBatches {
    private final long cls;
    private final long sep;
    private final MlmMasking masking;

    private MlmBatches(long cls, long sep, MlmMasking masking) {
        this.cls = cls;
        this.sep = sep;
        this.masking = masking;
    }

    /**
     * The batches of {@code tokenizer}'s encoder: its [CLS], [SEP] and [MASK] ids, and every BERT
     * special ([PAD], [UNK], [CLS], [SEP], [MASK]) it has kept out of the mask.
     *
     * @throws IllegalArgumentException naming what the tokenizer lacks
     */
    public static MlmBatches of(Tokenizer tokenizer, long seed) {
        if (!(tokenizer instanceof HfJsonTokenizer hf)) {
            throw new IllegalArgumentException("arch = bert needs a WordPiece tokenizer with [CLS], [SEP] and [MASK],"
                    + " not the " + tokenizer.type() + " tokenizer; make a dataset with troupe prepare --tokenizer"
                    + " wordpiece, or pass --tokenizer tokenizer.json with a text file");
        }
        long mask = require(hf, "[MASK]");
        long cls = require(hf, "[CLS]");
        long sep = require(hf, "[SEP]");
        List<Long> specials = new ArrayList<>();
        for (String s : List.of("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")) {
            hf.tokenId(s).ifPresent(id -> specials.add((long) id));
        }
        long[] ids = specials.stream().mapToLong(Long::longValue).toArray();
        return new MlmBatches(cls, sep, new MlmMasking(hf.vocabSize(), mask, ids, seed));
    }

    private static long require(HfJsonTokenizer tokenizer, String token) {
        OptionalInt id = tokenizer.tokenId(token);
        if (id.isEmpty()) {
            throw new IllegalArgumentException("arch = bert needs a " + token + " token, and the tokenizer has none;"
                    + " make a dataset with troupe prepare --tokenizer wordpiece (it adds the BERT specials)");
        }
        return id.getAsInt();
    }

    /**
     * Rewrites {@code rows} windows of {@code seqLen} tokens at {@code tokens}' position into
     * masked rows, and the targets at {@code targets}' position (positions do not move).
     *
     * @param firstKey the key of the first row; row r is masked with key {@code firstKey + r}
     * @return the number of positions chosen for prediction
     */
    public int prepare(LongBuffer tokens, LongBuffer targets, int rows, int seqLen, long firstKey) {
        if (seqLen < 3) {
            throw new IllegalArgumentException("an MLM row needs block_size >= 3 ([CLS], a token, [SEP]), got " + seqLen);
        }
        int chosen = 0;
        for (int r = 0; r < rows; r++) {
            int at = tokens.position() + r * seqLen;
            // [CLS] w_1 .. w_{T-2} [SEP]: shift the window right by one.
            for (int i = seqLen - 2; i >= 1; i--) {
                tokens.put(at + i, tokens.get(at + i - 1));
            }
            tokens.put(at, cls);
            tokens.put(at + seqLen - 1, sep);
            chosen += masking.applyKeyed(firstKey + r, tokens.duplicate().position(at),
                    targets.duplicate().position(targets.position() + r * seqLen), seqLen);
        }
        return chosen;
    }
}
