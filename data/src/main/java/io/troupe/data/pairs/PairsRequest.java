package io.troupe.data.pairs;

import java.nio.file.Path;
import java.util.List;

/**
 * What {@code troupe prepare --pairs} was asked to do.
 *
 * @param files TAB-separated pairs files, read in order
 * @param out the dataset directory to write
 * @param force replace a pairs dataset already in {@code out}
 * @param sourceColumn 1-based column of the source side
 * @param targetColumn 1-based column of the target side
 * @param sourceLanguage the source side's language code, e.g. {@code en}
 * @param targetLanguage the target side's language code, e.g. {@code fr}
 * @param split which side is hashed and the percentages
 * @param vocabSize the shared byte-level BPE's vocabulary, special tokens included
 * @param normalizeSpaces map typographic spaces to ' ' (see {@link PairReader})
 * @param maxBadFraction the share of unusable lines tolerated
 * @param batchSize the batch size the padding report is computed for
 * @param seed the seed of the padding report's sampler
 */
public record PairsRequest(List<Path> files, Path out, boolean force, int sourceColumn, int targetColumn,
        String sourceLanguage, String targetLanguage, HashSplit split, int vocabSize, boolean normalizeSpaces,
        double maxBadFraction, int batchSize, long seed) {

    /** Default vocabulary of the shared BPE (a small translation model's ~8k). */
    public static final int DEFAULT_VOCAB = 8000;
    /** Default batch size of the padding report. */
    public static final int DEFAULT_BATCH = 64;
    /** Default tolerated share of bad lines. */
    public static final double DEFAULT_MAX_BAD_FRACTION = 0.01;
    /**
     * Batches per sorted pool of the length-bucketed sampler. On Tatoeba's train split at batch
     * 64, pools of 100 batches pad 10.3% of the slots and pools of 1,000 pad 2.4%; fairseq-style
     * samplers sort the whole epoch. Which examples share a batch stays random within a pool.
     */
    public static final int POOL_BATCHES = 1000;
}
