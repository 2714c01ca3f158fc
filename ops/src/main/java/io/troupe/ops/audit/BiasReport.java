package io.troupe.ops.audit;

import java.util.List;

/**
 * The result of {@code troupe audit bias}, as printed with {@code --json} and appended to the
 * model card.
 *
 * @param model the model directory audited
 * @param pairsFile the pairs file and its SHA-256
 * @param format crows or pairs
 * @param startToken the token id every sentence was conditioned on
 * @param overall every scored pair
 * @param categories one group per bias category, largest first
 * @param directions one group per direction (CrowS-Pairs: stereo, antistereo)
 * @param skipped pairs not scored because the tokenizer cannot encode a sentence
 * @param skippedExample the file line of the first skipped pair, or 0
 * @param largestGaps the pairs the model separates most, largest |gap| first
 * @param seconds wall time of scoring
 * @param pairsPerSecond scored pairs per second of wall time
 * @param seed the bootstrap seed
 */
public record BiasReport(String model, String pairsFile, String pairsSha256, String format, int startToken,
        BiasStatistics.Group overall, List<BiasStatistics.Group> categories, List<BiasStatistics.Group> directions,
        int skipped, long skippedExample, List<Gap> largestGaps, double seconds, double pairsPerSecond, long seed) {

    /** One of the largest-gap pairs; the sentences are null unless the text was asked for. */
    public record Gap(long line, String category, String direction, double gap, String more, String less) {
    }
}
