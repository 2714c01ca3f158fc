package io.troupe.ops.inference;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.troupe.data.DataException;
import io.troupe.data.tokenize.HfJsonTokenizer;
import io.troupe.data.tokenize.Tokenizer;
import io.troupe.model.bert.EncoderGraphs;
import io.troupe.model.bert.ImportedEncoder;
import io.troupe.worker.finetune.SpecialTokens;
import io.troupe.worker.run.ClassifierExport;
import io.troupe.worker.run.EncoderExport;
import io.troupe.worker.run.ModelExport;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;

/**
 * A BERT-style encoder ready for inference: an encoder export's {@code model.onnx} (metadata
 * {@code troupe.task=encoder}) and its tokenizer, or an encoder imported from a Hugging Face ONNX
 * file. Texts are read as {@code [CLS] text [SEP]} and cut to the position table; cut texts are
 * counted ({@link #truncated()}).
 *
 * <p>It gives sentence vectors ({@link #embed}, pooled as the model says: mean or [CLS]) and, with
 * an MLM head, the top predictions for each [MASK] ({@link #fillMask}) and a sentence's
 * pseudo-log-likelihood ({@link #pseudoLogLikelihood}: the sum over its tokens of log p(token)
 * with that token masked, Salazar et al. 2020).
 */
public final class ExportedEncoder implements AutoCloseable {
    /** Texts per ORT run. */
    private static final int BATCH = 32;
    private static final String MASK = "[MASK]";

    private final OrtEnvironment env;
    private final OrtSession session;
    private final Tokenizer tokenizer;
    private final SpecialTokens specials;
    private final int blockSize;
    private final boolean mean;
    private final boolean hasLogits;
    private int truncated;

    private ExportedEncoder(OrtSession session, Tokenizer tokenizer, SpecialTokens specials, int blockSize,
                            boolean mean) {
        this.env = ExportedSession.environment();
        this.session = session;
        this.tokenizer = tokenizer;
        this.specials = specials;
        this.blockSize = blockSize;
        this.mean = mean;
        this.hasLogits = session.getOutputNames().contains(EncoderGraphs.LOGITS);
    }

    /**
     * Opens the encoder export in {@code dir}.
     *
     * @throws DataException when a file is missing or the model is not an encoder (a GPT, a classifier)
     */
    public static ExportedEncoder open(Path dir, int threads) throws DataException {
        Path modelFile = dir.resolve(ModelExport.FILE_NAME);
        if (!Files.isRegularFile(modelFile)) {
            throw new DataException(modelFile + " does not exist; pass an encoder's model directory (troupe train"
                    + " --arch bert --out DIR), or --model onnx:FILE.onnx with --tokenizer tokenizer.json");
        }
        Tokenizer tokenizer = Tokenizer.load(dir);
        OrtSession session = ExportedSession.open(modelFile, threads);
        try {
            Map<String, String> meta = session.getMetadata().getCustomMetadata();
            String task = meta.get(ClassifierExport.TASK);
            if (task == null) {
                throw new DataException(modelFile + " is a GPT language model, not a BERT-style encoder; use troupe"
                        + " generate for it, or pass an encoder (troupe train --arch bert, or onnx:FILE.onnx)");
            }
            if (!EncoderExport.ENCODER.equals(task)) {
                throw new DataException(modelFile + " is a " + task + " model, not a BERT-style encoder; use troupe"
                        + " predict for a classifier");
            }
            SpecialTokens specials = SpecialTokens.fromMetadata(meta);
            return new ExportedEncoder(session, tokenizer, specials, Integer.parseInt(meta.get(ModelExport.BLOCK_SIZE)),
                    !"cls".equals(meta.get(EncoderExport.POOLING)));
        } catch (OrtException e) {
            ExportedSession.closeQuietly(session);
            throw new DataException(modelFile + " is not a loadable ONNX model: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            ExportedSession.closeQuietly(session);
            throw e;
        }
    }

    /** An encoder imported from another format, with mean pooling (or [CLS] when {@code cls}). */
    public static ExportedEncoder of(ImportedEncoder encoder, HfJsonTokenizer tokenizer, boolean cls, int threads)
            throws DataException {
        SpecialTokens specials = SpecialTokens.of(tokenizer);
        byte[] model = EncoderExport.graph(encoder.config(), encoder.parameters(), specials.toMetadata(),
                cls ? "cls" : "mean").toBytes();
        return new ExportedEncoder(ExportedSession.open(model, encoder.source(), threads), tokenizer, specials,
                encoder.config().blockSize(), !cls);
    }

    /** Texts cut to the position table so far. */
    public int truncated() {
        return truncated;
    }

    /** Positions of the model: the longest row it reads, [CLS] and [SEP] included. */
    public int blockSize() {
        return blockSize;
    }

    /** True when the model has an MLM head (fill-mask and PLL work). */
    public boolean hasMlmHead() {
        return hasLogits;
    }

    public Tokenizer tokenizer() {
        return tokenizer;
    }

    /** Tokens the model reads for {@code text}: its tokens with [CLS] and [SEP], cut to block_size. */
    public int tokensRead(String text) {
        int extra = specials == null ? 0 : 2;
        return Math.min(tokenizer.encode(text).length, blockSize - extra) + extra;
    }

    /** {@code [CLS] ids [SEP]}, cut to block_size (counted). */
    private long[] wrap(int[] ids) {
        long[] row = cut(ids);
        if (row.length - (specials == null ? 0 : 2) < ids.length) {
            truncated++;
        }
        return row;
    }

    /** {@code [CLS] ids [SEP]}, cut to block_size. */
    private long[] cut(int[] ids) {
        int extra = specials == null ? 0 : 2;
        int n = Math.min(ids.length, blockSize - extra);
        long[] row = new long[n + extra];
        int at = 0;
        if (specials != null) {
            row[at++] = specials.cls();
        }
        for (int i = 0; i < n; i++) {
            row[at++] = ids[i];
        }
        if (specials != null) {
            row[at] = specials.sep();
        }
        return row;
    }

    /**
     * One vector per text: the final hidden states pooled over the text's real tokens (mean) or
     * read at [CLS].
     *
     * @return [texts][C]
     */
    public float[][] embed(List<String> texts) throws OrtException {
        List<long[]> rows = new ArrayList<>();
        for (String t : texts) {
            rows.add(wrap(tokenizer.encode(t)));
        }
        float[][] out = new float[texts.size()][];
        for (int from = 0; from < rows.size(); from += BATCH) {
            List<long[]> batch = rows.subList(from, Math.min(rows.size(), from + BATCH));
            Run run = run(batch, EncoderGraphs.HIDDEN);
            int c = run.width;
            for (int b = 0; b < batch.size(); b++) {
                float[] v = new float[c];
                int len = batch.get(b).length;
                int positions = mean ? len : 1;
                for (int i = 0; i < positions; i++) {
                    int base = (b * run.seqLen + i) * c;
                    for (int j = 0; j < c; j++) {
                        v[j] += run.values[base + j] / positions;
                    }
                }
                out[from + b] = v;
            }
        }
        return out;
    }

    /** A candidate for one [MASK]: the token, its id and its probability. */
    public record Candidate(String token, int id, double probability) {
    }

    /**
     * The {@code topK} most likely tokens at each [MASK] of {@code text}, in order of the masks.
     *
     * @throws IllegalArgumentException when the text has no [MASK] or the model no MLM head
     */
    public List<List<Candidate>> fillMask(String text, int topK) throws OrtException {
        requireMlm();
        int maskId = maskId();
        if (!text.contains(MASK)) {
            throw new IllegalArgumentException("the text has no " + MASK + "; put " + MASK
                    + " where a word should be predicted, e.g. \"The [MASK] sat on the mat.\"");
        }
        // Each piece between masks is encoded alone, so [MASK] is one token whatever the tokenizer.
        List<Integer> ids = new ArrayList<>();
        String[] pieces = text.split(java.util.regex.Pattern.quote(MASK), -1);
        for (int p = 0; p < pieces.length; p++) {
            if (!pieces[p].isBlank()) {
                for (int id : tokenizer.encode(pieces[p].strip())) {
                    ids.add(id);
                }
            }
            if (p < pieces.length - 1) {
                ids.add(maskId);
            }
        }
        long[] row = wrap(ids.stream().mapToInt(Integer::intValue).toArray());
        Run run = run(List.of(row), EncoderGraphs.LOGITS);
        List<List<Candidate>> out = new ArrayList<>();
        for (int i = 0; i < row.length; i++) {
            if (row[i] != maskId) {
                continue;
            }
            double[] p = softmax(run.values, i * run.width, run.width);
            List<Candidate> best = new ArrayList<>();
            boolean[] taken = new boolean[p.length];
            for (int k = 0; k < Math.min(topK, p.length); k++) {
                int arg = -1;
                for (int v = 0; v < p.length; v++) {
                    if (!taken[v] && (arg < 0 || p[v] > p[arg])) {
                        arg = v;
                    }
                }
                taken[arg] = true;
                best.add(new Candidate(tokenizer.decode(new int[] {arg}).strip(), arg, p[arg]));
            }
            out.add(best);
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException("every " + MASK + " lies beyond the model's " + blockSize
                    + "-token position table; shorten the text");
        }
        return out;
    }

    /**
     * The pseudo-log-likelihood of {@code text} in nats: for each of its tokens, log p(token) with
     * that token alone replaced by [MASK], summed. Higher is more likely.
     */
    public double pseudoLogLikelihood(String text) throws OrtException {
        requireMlm();
        long[] row = wrap(tokenizer.encode(text));
        if (row.length <= (specials == null ? 0 : 2)) {
            throw new IllegalArgumentException("the text has no tokens to score");
        }
        return pseudoLogLikelihood(row);
    }

    /** A text's pseudo-log-likelihood and how many of its tokens it sums over. */
    public record PseudoLikelihood(double sum, int tokens) {
        /** exp(-sum / tokens): the pseudo-perplexity (Salazar et al. 2020), comparable between texts of one model only. */
        public double pseudoPerplexity() {
            return Math.exp(-sum / tokens);
        }
    }

    /**
     * The pseudo-log-likelihood of the token ids {@code ids} (no [CLS]/[SEP]), cut to the
     * position table without counting the text as truncated (the drift monitor's scoring is not
     * a request); null when there is no token to score.
     */
    public PseudoLikelihood pseudoLikelihoodOf(int[] ids) throws OrtException {
        requireMlm();
        long[] row = cut(ids);
        int n = row.length - (specials == null ? 0 : 2);
        return n < 1 ? null : new PseudoLikelihood(pseudoLogLikelihood(row), n);
    }

    /** The PLL of a wrapped row: each real token masked in turn, batched. */
    private double pseudoLogLikelihood(long[] row) throws OrtException {
        int maskId = maskId();
        int first = specials == null ? 0 : 1;
        int last = specials == null ? row.length : row.length - 1;
        List<long[]> masked = new ArrayList<>();
        for (int i = first; i < last; i++) {
            long[] copy = row.clone();
            copy[i] = maskId;
            masked.add(copy);
        }
        double sum = 0;
        for (int from = 0; from < masked.size(); from += BATCH) {
            List<long[]> batch = masked.subList(from, Math.min(masked.size(), from + BATCH));
            Run run = run(batch, EncoderGraphs.LOGITS);
            for (int b = 0; b < batch.size(); b++) {
                int pos = first + from + b;
                double[] p = softmax(run.values, (b * run.seqLen + pos) * run.width, run.width);
                sum += Math.log(p[(int) row[pos]]);
            }
        }
        return sum;
    }

    private void requireMlm() {
        if (!hasLogits) {
            throw new IllegalArgumentException("this encoder has no masked-language-model head (a sentence encoder"
                    + " such as all-MiniLM-L6-v2); fill-mask and PLL need an MLM model, e.g. troupe train --arch bert");
        }
    }

    private int maskId() {
        OptionalInt id = tokenizer instanceof HfJsonTokenizer hf ? hf.tokenId(MASK) : OptionalInt.empty();
        if (id.isEmpty()) {
            throw new IllegalArgumentException("the model's tokenizer has no " + MASK + " token");
        }
        return id.getAsInt();
    }

    private static double[] softmax(float[] values, int from, int n) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            max = Math.max(max, values[from + i]);
        }
        double[] p = new double[n];
        double sum = 0;
        for (int i = 0; i < n; i++) {
            p[i] = Math.exp(values[from + i] - max);
            sum += p[i];
        }
        for (int i = 0; i < n; i++) {
            p[i] /= sum;
        }
        return p;
    }

    /** One output of a right-padded batch: values [B, T, width]. */
    private record Run(float[] values, int seqLen, int width) {
    }

    private Run run(List<long[]> rows, String output) throws OrtException {
        int b = rows.size();
        int t = rows.stream().mapToInt(r -> r.length).max().orElse(1);
        long[] ids = new long[b * t];
        long[] lengths = new long[b];
        for (int i = 0; i < b; i++) {
            long[] r = rows.get(i);
            System.arraycopy(r, 0, ids, i * t, r.length);
            lengths[i] = r.length;
        }
        try (OnnxTensor x = OnnxTensor.createTensor(env, LongBuffer.wrap(ids), new long[] {b, t});
             OnnxTensor l = OnnxTensor.createTensor(env, LongBuffer.wrap(lengths), new long[] {b});
             OrtSession.Result r = session.run(Map.of(EncoderGraphs.INPUT_IDS, x, EncoderGraphs.LENGTHS, l),
                     java.util.Set.of(output))) {
            OnnxTensor out = (OnnxTensor) r.get(output).orElseThrow();
            long[] shape = out.getInfo().getShape();
            FloatBuffer buf = out.getFloatBuffer();
            float[] values = new float[buf.remaining()];
            buf.get(values);
            return new Run(values, t, (int) shape[2]);
        }
    }

    @Override
    public void close() throws OrtException {
        session.close();
    }
}
