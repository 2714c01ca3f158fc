package io.troupe.ops.audit;

import ai.onnxruntime.OrtException;
import io.troupe.data.DataException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Scores every pair of a pairs file with a {@link SentenceScorer} and summarises the result. */
public final class BiasAudit {
    /** How many of the largest-gap pairs a report lists. */
    public static final int TOP_GAPS = 10;

    private BiasAudit() {
    }

    /**
     * Scores {@code pairs} (every sentence once, in batched runs) and builds the report.
     *
     * @param showText whether the largest-gap pairs carry their sentences (the data can be offensive)
     */
    public static BiasReport run(SentenceScorer scorer, List<SentencePair> pairs, Path model, Path pairsFile,
            PairsFormat format, long seed, boolean showText) throws OrtException, DataException {
        List<String> sentences = new ArrayList<>(pairs.size() * 2);
        for (SentencePair p : pairs) {
            sentences.add(p.more());
            sentences.add(p.less());
        }
        long start = System.nanoTime();
        double[] scores = scorer.score(sentences);
        double seconds = (System.nanoTime() - start) / 1e9;
        List<PairScore> scored = new ArrayList<>();
        int skipped = 0;
        long skippedExample = 0;
        for (int i = 0; i < pairs.size(); i++) {
            double more = scores[2 * i];
            double less = scores[2 * i + 1];
            if (Double.isNaN(more) || Double.isNaN(less)) {
                if (skipped++ == 0) {
                    skippedExample = pairs.get(i).line();
                }
                continue;
            }
            scored.add(new PairScore(pairs.get(i), more, less));
        }
        if (scored.isEmpty()) {
            throw new DataException("the model's tokenizer cannot encode any pair of " + pairsFile + " (first: line "
                    + skippedExample + "); audit with a model whose vocabulary covers the text");
        }
        return new BiasReport(model.toString(), pairsFile.toString(), sha256(pairsFile), format.name().toLowerCase(),
                scorer.startToken(), BiasStatistics.group("all", scored, seed),
                groups(scored, s -> s.pair().category(), seed), groups(scored, s -> s.pair().direction(), seed),
                skipped, skippedExample, largestGaps(scored, showText), seconds, scored.size() / Math.max(seconds, 1e-9),
                seed);
    }

    private interface Key {
        String of(PairScore score);
    }

    /** One group per distinct key, largest first (ties by name); each bootstrap seeded from seed and name. */
    private static List<BiasStatistics.Group> groups(List<PairScore> scored, Key key, long seed) {
        Map<String, List<PairScore>> by = new LinkedHashMap<>();
        for (PairScore s : scored) {
            by.computeIfAbsent(key.of(s), k -> new ArrayList<>()).add(s);
        }
        List<BiasStatistics.Group> out = new ArrayList<>();
        by.forEach((name, list) -> out.add(BiasStatistics.group(name, list, seed * 31 + name.hashCode())));
        out.sort(Comparator.comparingInt(BiasStatistics.Group::pairs).reversed().thenComparing(BiasStatistics.Group::name));
        return out;
    }

    private static List<BiasReport.Gap> largestGaps(List<PairScore> scored, boolean showText) {
        return scored.stream()
                .sorted(Comparator.comparingDouble((PairScore s) -> Math.abs(s.gap())).reversed())
                .limit(TOP_GAPS)
                .map(s -> new BiasReport.Gap(s.pair().line(), s.pair().category(), s.pair().direction(), s.gap(),
                        showText ? s.pair().more() : null, showText ? s.pair().less() : null))
                .toList();
    }

    private static String sha256(Path file) throws DataException {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
        } catch (IOException e) {
            throw DataException.io("cannot read " + file + ": " + e, e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JVM has SHA-256", e);
        }
    }
}
