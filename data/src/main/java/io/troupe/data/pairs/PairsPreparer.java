package io.troupe.data.pairs;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.troupe.data.DataException;
import io.troupe.data.io.AtomicFiles;
import io.troupe.data.io.FileTrees;
import io.troupe.data.shard.TokenWidth;
import io.troupe.data.tokenize.BpeTokenizer;
import io.troupe.data.tokenize.BpeTrainer;
import io.troupe.data.tokenize.PieceCounts;
import io.troupe.data.tokenize.Tokenizer;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * {@code troupe prepare --pairs}: reads TAB-separated sentence pairs, splits them by the hash of
 * one side ({@link HashSplit}), trains one byte-level BPE on both sides of the train split
 * ({@link BpeTrainer}), and writes each split's source and target ids for a seq2seq trainer
 * ({@link PairDataset} reads them back).
 *
 * <p>Layout: {@code tokenizer.json}; per split {@code train/}, {@code val/}, {@code test/} with
 * {@code source.bin} and {@code target.bin} (the ids of every example, concatenated, little-endian
 * uint16 or uint32 as the manifest's dtype says) and {@code offsets.bin} (little-endian int64:
 * n+1 source offsets, then n+1 target offsets, in tokens); and, written last,
 * {@code manifest.json} with counts, checksums, special-token ids, the attribution and the
 * padding fraction a length-bucketed sampler reaches. No special token is stored in the ids:
 * the trainer adds {@code <|bos|>} and {@code <|endoftext|>} as its model needs.
 */
public final class PairsPreparer {

    /** Special tokens of the shared BPE: end of sequence, padding, decoder start. */
    public static final List<String> SPECIAL_TOKENS = List.of(BpeTokenizer.END_OF_TEXT, "<|pad|>", "<|bos|>");

    private static final ObjectMapper MAPPER = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final Set<String> OURS = Set.of(PairsManifest.FILE_NAME, Tokenizer.FILE_NAME, "train", "val",
            "test");

    /** Per-split numbers of the result. */
    public record SplitStats(int pairs, int distinctHashed, long sourceTokens, long targetTokens,
            double bucketedPadding, double randomPadding) {
    }

    /** What prepare wrote. */
    public record Result(Path directory, int vocabSize, long lines, long badLines, long spacesNormalized,
            Map<HashSplit.Part, SplitStats> splits, double tokenizerSeconds, double seconds, String attribution) {
    }

    private PairsPreparer() {
    }

    /**
     * Prepares a pairs dataset.
     *
     * @throws DataException for unreadable or malformed input, a split language that is neither
     *     side's, an empty split, or an output directory that holds something else
     */
    public static Result run(PairsRequest request, String attribution) throws DataException {
        return run(request, attribution, null);
    }

    /**
     * As {@link #run(PairsRequest, String)}, but encodes with {@code reuse} (the tokenizer of
     * another pairs dataset, or of a model trained on one) instead of training a BPE, so that a
     * model trained on other pairs can be fine-tuned on these. It must be a pairs tokenizer:
     * byte-level BPE whose last three ids are {@link #SPECIAL_TOKENS}.
     *
     * @param reuse the tokenizer to keep, or null to train one ({@code request.vocabSize()} is then ignored)
     */
    public static Result run(PairsRequest request, String attribution, Tokenizer reuse) throws DataException {
        BpeTokenizer reused = reuse instanceof BpeTokenizer bpe && bpe.specialTokens().equals(SPECIAL_TOKENS) ? bpe : null;
        if (reuse != null && reused == null) {
            throw DataException.config("the tokenizer to reuse is not a pairs tokenizer (a byte-level BPE from `troupe"
                    + " prepare --pairs` with the specials " + SPECIAL_TOKENS + "); pass a pairs dataset's or a seq2seq"
                    + " model's tokenizer.json");
        }
        long start = System.nanoTime();
        HashSplit split = request.split();
        boolean hashSource;
        if (split.language().equals(request.sourceLanguage())) {
            hashSource = true;
        } else if (split.language().equals(request.targetLanguage())) {
            hashSource = false;
        } else {
            throw DataException.config("--split " + split + " hashes the '" + split.language() + "' side, but the"
                    + " sides are " + request.sourceLanguage() + " (source) and " + request.targetLanguage()
                    + " (target); set --source-lang/--target-lang or the split's language");
        }
        if (reuse == null && request.vocabSize() < BpeTokenizer.BYTE_TOKENS + SPECIAL_TOKENS.size() + 1) {
            throw DataException.config("--vocab-size " + request.vocabSize() + " is too small for a byte-level BPE:"
                    + " it needs at least " + (BpeTokenizer.BYTE_TOKENS + SPECIAL_TOKENS.size() + 1));
        }
        PairReader.Result read = new PairReader(request.sourceColumn(), request.targetColumn(),
                request.maxBadFraction(), request.normalizeSpaces()).read(request.files());

        Map<HashSplit.Part, List<SentencePair>> parts = new EnumMap<>(HashSplit.Part.class);
        Map<HashSplit.Part, Set<String>> distinct = new EnumMap<>(HashSplit.Part.class);
        for (HashSplit.Part p : HashSplit.Part.values()) {
            parts.put(p, new ArrayList<>());
            distinct.put(p, new HashSet<>());
        }
        for (SentencePair pair : read.pairs()) {
            String hashed = hashSource ? pair.source() : pair.target();
            HashSplit.Part p = split.partOf(hashed);
            parts.get(p).add(pair);
            distinct.get(p).add(hashed);
        }
        if (parts.get(HashSplit.Part.TRAIN).isEmpty()) {
            throw new DataException("no pair went to the train split of " + split + " (" + read.pairs().size()
                    + " pairs); pass more pairs");
        }

        long t0 = System.nanoTime();
        BpeTokenizer tokenizer;
        if (reused != null) {
            tokenizer = reused;
        } else {
            PieceCounts counts = new PieceCounts();
            for (SentencePair pair : parts.get(HashSplit.Part.TRAIN)) {
                counts.add(pair.source());
                counts.add(pair.target());
            }
            tokenizer = BpeTrainer.train(counts, request.vocabSize(), SPECIAL_TOKENS);
        }
        double tokenizerSeconds = (System.nanoTime() - t0) / 1e9;

        Path out = claim(request.out(), request.force());
        boolean complete = false;
        try {
            tokenizer.save(out);
            TokenWidth width = TokenWidth.forVocab(tokenizer.vocabSize());
            Map<HashSplit.Part, SplitStats> stats = new EnumMap<>(HashSplit.Part.class);
            ObjectNode manifest = MAPPER.createObjectNode();
            ObjectNode splitsNode = MAPPER.createObjectNode();
            for (HashSplit.Part p : HashSplit.Part.values()) {
                List<SentencePair> pairs = parts.get(p);
                int[][] source = new int[pairs.size()][];
                int[][] target = new int[pairs.size()][];
                for (int i = 0; i < pairs.size(); i++) {
                    source[i] = tokenizer.encode(pairs.get(i).source());
                    target[i] = tokenizer.encode(pairs.get(i).target());
                }
                Path dir = Files.createDirectories(out.resolve(p.id()));
                ObjectNode files = MAPPER.createObjectNode();
                files.put(PairsManifest.SOURCE_TOKENS, writeTokens(dir.resolve(PairsManifest.SOURCE_TOKENS), source, width));
                files.put(PairsManifest.TARGET_TOKENS, writeTokens(dir.resolve(PairsManifest.TARGET_TOKENS), target, width));
                files.put(PairsManifest.OFFSETS, writeOffsets(dir.resolve(PairsManifest.OFFSETS), source, target));
                SplitStats s = stats(source, target, distinct.get(p).size(), request);
                stats.put(p, s);
                ObjectNode node = splitsNode.putObject(p.id());
                node.put("pairs", s.pairs());
                node.put("distinct_" + split.language(), s.distinctHashed());
                node.put("source_tokens", s.sourceTokens());
                node.put("target_tokens", s.targetTokens());
                node.put("padding_fraction_bucketed", s.bucketedPadding());
                node.put("padding_fraction_random", s.randomPadding());
                node.set("sha256", files);
            }
            manifest.put("format", PairsManifest.FORMAT);
            manifest.put("version", PairsManifest.VERSION);
            manifest.put("tokenizer", tokenizer.type());
            manifest.put("vocab_size", tokenizer.vocabSize());
            manifest.put("dtype", width.id());
            manifest.put("source_language", request.sourceLanguage());
            manifest.put("target_language", request.targetLanguage());
            manifest.put("source_column", request.sourceColumn());
            manifest.put("target_column", request.targetColumn());
            manifest.put("split", split.toString());
            manifest.put("normalize_spaces", request.normalizeSpaces());
            ObjectNode specials = manifest.putObject("special_tokens");
            specials.put("eos", tokenizer.vocabSize() - 3);
            specials.put("pad", tokenizer.vocabSize() - 2);
            specials.put("bos", tokenizer.vocabSize() - 1);
            ArrayNode inputs = manifest.putArray("inputs");
            request.files().forEach(f -> inputs.add(f.toString()));
            manifest.put("lines", read.lines());
            manifest.put("bad_lines", read.badLines());
            manifest.put("sides_with_spaces_normalized", read.spacesNormalized());
            manifest.put("batch_size_of_padding_report", request.batchSize());
            if (attribution != null) {
                manifest.put("attribution", attribution);
            }
            manifest.set("splits", splitsNode);
            AtomicFiles.writeString(out.resolve(PairsManifest.FILE_NAME), MAPPER.writeValueAsString(manifest) + "\n");
            complete = true;
            return new Result(out, tokenizer.vocabSize(), read.lines(), read.badLines(), read.spacesNormalized(),
                    stats, tokenizerSeconds, (System.nanoTime() - start) / 1e9, attribution);
        } catch (IOException e) {
            throw DataException.io("cannot write the pairs dataset in " + out + ": " + e.getMessage()
                    + "; check that the disk is not full", e);
        } finally {
            if (!complete) {
                discard(out);
            }
        }
    }

    /**
     * The attribution a data set asks for: the text after {@code Attribution:} in an
     * {@code _about.txt} beside any of the files (as manythings.org's Tatoeba exports carry,
     * CC BY 2.0), or null when there is none.
     */
    public static String attributionOf(List<Path> files) {
        for (Path file : files) {
            Path about = file.toAbsolutePath().resolveSibling("_about.txt");
            try {
                if (Files.isRegularFile(about)) {
                    for (String line : Files.readAllLines(about)) {
                        if (line.strip().startsWith("Attribution:")) {
                            return line.strip().substring("Attribution:".length()).strip();
                        }
                    }
                }
            } catch (IOException e) {
                // an unreadable note is no attribution; --attribution can give one
            }
        }
        return null;
    }

    private static SplitStats stats(int[][] source, int[][] target, int distinct, PairsRequest request) {
        int n = source.length;
        int[] sl = new int[n];
        int[] tl = new int[n];
        long st = 0;
        long tt = 0;
        for (int i = 0; i < n; i++) {
            sl[i] = source[i].length;
            tl[i] = target[i].length;
            st += sl[i];
            tt += tl[i];
        }
        LengthBucketSampler bucketed = new LengthBucketSampler(sl, tl, request.batchSize(),
                PairsRequest.POOL_BATCHES, request.seed());
        LengthBucketSampler random = new LengthBucketSampler(sl, tl, request.batchSize(), 1, request.seed());
        return new SplitStats(n, distinct, st, tt, bucketed.paddingFraction(bucketed.epoch(0)),
                random.paddingFraction(random.epoch(0)));
    }

    private static String writeTokens(Path file, int[][] rows, TokenWidth width) throws IOException {
        long total = 0;
        for (int[] r : rows) {
            total += r.length;
        }
        ByteBuffer buf = ByteBuffer.allocate(Math.toIntExact(total * width.bytes())).order(ByteOrder.LITTLE_ENDIAN);
        for (int[] r : rows) {
            for (int id : r) {
                if (width == TokenWidth.UINT16) {
                    buf.putShort((short) id);
                } else {
                    buf.putInt(id);
                }
            }
        }
        return write(file, buf);
    }

    private static String writeOffsets(Path file, int[][] source, int[][] target) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate((source.length + 1) * 16).order(ByteOrder.LITTLE_ENDIAN);
        for (int[][] side : new int[][][] {source, target}) {
            long at = 0;
            buf.putLong(at);
            for (int[] r : side) {
                at += r.length;
                buf.putLong(at);
            }
        }
        return write(file, buf);
    }

    private static String write(Path file, ByteBuffer buf) throws IOException {
        buf.flip();
        String sha = sha256(buf.duplicate());
        AtomicFiles.write(file, channel -> {
            while (buf.hasRemaining()) {
                channel.write(buf);
            }
        });
        return sha;
    }

    static String sha256(ByteBuffer bytes) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            md.update(bytes);
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java has SHA-256", e);
        }
    }

    /** Makes {@code dir} ready: new, empty, or (with force) a pairs dataset, whose manifest goes first. */
    private static Path claim(Path dir, boolean force) throws DataException {
        try {
            if (Files.exists(dir) && !Files.isDirectory(dir)) {
                throw new DataException("--out " + dir + " is a file, not a directory; choose another path");
            }
            if (Files.isDirectory(dir)) {
                List<String> names;
                try (Stream<Path> list = Files.list(dir)) {
                    names = list.map(p -> p.getFileName().toString()).sorted().toList();
                }
                for (String name : names) {
                    if (!OURS.contains(name)) {
                        throw new DataException("--out " + dir + " holds files troupe prepare --pairs did not write"
                                + " (e.g. " + name + "); choose an empty or new directory");
                    }
                }
                if (Files.exists(dir.resolve(PairsManifest.FILE_NAME))) {
                    if (!force) {
                        throw new DataException("--out " + dir + " already holds a prepared dataset; pass --force"
                                + " to replace it, or choose another directory");
                    }
                    Files.delete(dir.resolve(PairsManifest.FILE_NAME));
                    AtomicFiles.fsyncDirectory(dir);
                }
                for (String name : names) {
                    FileTrees.deleteRecursively(dir.resolve(name));
                }
            }
            return Files.createDirectories(dir);
        } catch (IOException e) {
            throw DataException.io("cannot prepare output directory " + dir + ": " + e.getMessage()
                    + "; check that it is writable", e);
        }
    }

    private static void discard(Path dir) {
        for (String name : OURS) {
            try {
                FileTrees.deleteRecursively(dir.resolve(name));
            } catch (IOException ignored) {
                // best effort: without a manifest, nothing left looks like a dataset
            }
        }
    }
}
