package io.troupe.ops.serve.monitor;

/**
 * The last {@code capacity} texts a model was sent, as token and length histograms kept up to
 * date as texts enter and leave, plus the last prompt losses (language model) or top-class
 * probabilities (classifier). Thread-safe.
 */
final class DriftWindow {
    /** What the window holds now, against the reference; NaN where there is nothing to say. */
    record Snapshot(long texts, double tokenPsi, double lengthPsi, double perplexity, double confidence,
            double unknownShare) {
        double maxPsi() {
            return Math.max(tokenPsi, lengthPsi);
        }
    }

    private static final int SCORES = 64;
    private final LenientEncoder.Encoded[] ring;
    private int next;
    private int size;
    private final TextHistograms counts;
    private final int unknownBin;
    private final double[] lossSums = new double[SCORES];
    private final long[] lossTokens = new long[SCORES];
    private int losses;
    private final double[] confidences = new double[SCORES];
    private int confidenceCount;
    /** The token bins of the last reference compared with ({@link TokenBins}), and its histogram in them. */
    private ReferenceProfile binnedFor;
    private TokenBins bins;
    private long[] binnedReference;

    DriftWindow(int capacity, int tokenBins) {
        ring = new LenientEncoder.Encoded[capacity];
        counts = new TextHistograms(tokenBins);
        unknownBin = tokenBins - 1;
    }

    synchronized void add(LenientEncoder.Encoded text) {
        if (size == ring.length) {
            counts.add(ring[next], -1, unknownBin);
        } else {
            size++;
        }
        ring[next] = text;
        counts.add(text, 1, unknownBin);
        next = (next + 1) % ring.length;
    }

    /** One scored prompt: its mean loss over {@code tokens} predicted tokens. */
    synchronized void addLoss(double meanLoss, long tokens) {
        int slot = losses++ % SCORES;
        lossSums[slot] = meanLoss * tokens;
        lossTokens[slot] = tokens;
    }

    /** One classified text's top-class probability. */
    synchronized void addConfidence(double p) {
        confidences[confidenceCount++ % SCORES] = p;
    }

    synchronized Snapshot snapshot(ReferenceProfile reference) {
        boolean comparable = reference != null && reference.tokens().length == counts.tokens.length && size > 0;
        if (comparable && reference != binnedFor) {
            bins = TokenBins.of(reference.tokens());
            binnedReference = bins.group(reference.tokens());
            binnedFor = reference;
        }
        double tokenPsi = comparable ? Psi.of(binnedReference, bins.group(counts.tokens)) : Double.NaN;
        double lengthPsi = comparable ? Psi.of(reference.lengths(), counts.lengths) : Double.NaN;
        double sum = 0;
        long tokens = 0;
        for (int i = 0; i < Math.min(losses, SCORES); i++) {
            sum += lossSums[i];
            tokens += lossTokens[i];
        }
        double confidence = 0;
        int n = Math.min(confidenceCount, SCORES);
        for (int i = 0; i < n; i++) {
            confidence += confidences[i];
        }
        long all = 0;
        for (long c : counts.tokens) {
            all += c;
        }
        return new Snapshot(size, tokenPsi, lengthPsi, tokens == 0 ? Double.NaN : Math.exp(sum / tokens),
                n == 0 ? Double.NaN : confidence / n, all == 0 ? Double.NaN : (double) counts.tokens[unknownBin] / all);
    }
}
