package io.troupe.data.prepare;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigRenderOptions;
import com.typesafe.config.ConfigValueFactory;
import io.troupe.data.DataException;
import io.troupe.data.clean.CleanSettings;
import io.troupe.data.clean.Normalization;
import io.troupe.data.dedup.DedupSettings;
import io.troupe.data.ingest.OnInvalid;
import io.troupe.data.ingest.ReadSettings;
import io.troupe.data.tokenize.BpeTokenizer;
import io.troupe.data.tokenize.WordPieceTrainer;
import java.io.UncheckedIOException;
import java.nio.charset.Charset;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * Every setting of a prepare run, read once from HOCON: the {@code troupe.prepare} defaults of
 * reference.conf, then {@code key=value} overrides (command-line flags become overrides too).
 *
 * @param read how files are read and cut into documents
 * @param clean cleaning steps and document filters
 * @param dedup exact and near-duplicate removal
 * @param tokenizer which tokenizer, and for a trained BPE its size, special tokens and sample
 * @param split how documents are assigned to train and val
 * @param shardTokens tokens per shard file
 * @param threads worker threads for the parallel stages
 * @param batchBytes bytes of documents handed to a worker thread at a time
 * @param json the merged settings, recorded in the manifest
 */
public record PrepareSettings(ReadSettings read, CleanSettings clean, DedupSettings dedup,
        TokenizerSettings tokenizer, SplitSettings split, long shardTokens, int threads,
        int batchBytes, JsonNode json) {

    /** The largest vocabulary a trained BPE may have. */
    public static final int MAX_BPE_VOCAB = 1 << 20;

    private static final String ROOT = "troupe.prepare";
    private static final ObjectMapper MAPPER = new ObjectMapper();

    /**
     * Which tokenizer to build.
     *
     * @param kind char, gpt2 or bpe
     * @param vocabSize the vocabulary of a trained BPE, special tokens included
     * @param specialTokens a trained BPE's special tokens
     * @param bpeSampleBytes a BPE trains on at most this many bytes of the train split
     */
    public record TokenizerSettings(TokenizerKind kind, int vocabSize, List<String> specialTokens,
            long bpeSampleBytes) {
    }

    /**
     * The train/val split.
     *
     * @param valFraction share of documents in val
     * @param seed seed of the split hash
     */
    public record SplitSettings(double valFraction, long seed) {
    }

    /** The reference defaults. */
    public static PrepareSettings defaults() throws DataException {
        return load(Map.of());
    }

    /**
     * Reads settings: reference.conf, then the overrides in iteration order.
     *
     * @param overrides key=value pairs, values in HOCON syntax (e.g. {@code tokenizer=bpe})
     * @throws DataException naming the key, if a key is unknown or a value malformed or out of range
     */
    public static PrepareSettings load(Map<String, String> overrides) throws DataException {
        Config reference = ConfigFactory.defaultReference().getConfig(ROOT);
        Config merged = reference;
        for (Map.Entry<String, String> e : overrides.entrySet()) {
            String key = e.getKey();
            if (!reference.hasPath(quote(key))) {
                throw DataException.config("unknown prepare setting '" + key + "'; known settings: "
                        + new TreeSet<>(reference.root().keySet()));
            }
            Config one;
            try {
                one = ConfigFactory.parseString(quote(key) + " = " + e.getValue());
            } catch (ConfigException ex) {
                // A bare string with HOCON punctuation (an encoding, a path): take it literally.
                one = ConfigFactory.empty().withValue(quote(key), ConfigValueFactory.fromAnyRef(e.getValue()));
            }
            merged = one.withFallback(merged);
        }
        return from(merged.resolve());
    }

    private static String quote(String key) {
        return "\"" + key + "\"";
    }

    private static PrepareSettings from(Config c) throws DataException {
        SettingsReader r = new SettingsReader(c);
        try {
            ReadSettings read = new ReadSettings(charset(r.string("encoding")),
                    r.choice("on_invalid", OnInvalid.class), r.bool("strict"), r.string("text_field"),
                    r.intIn("text_document_bytes", 64, 1 << 30),
                    r.intIn("max_jsonl_line_bytes", 64, 1 << 30));
            CleanSettings clean = new CleanSettings(r.choice("unicode_normalization", Normalization.class),
                    r.bool("remove_control_chars"), r.bool("normalize_whitespace"), r.bool("lowercase"),
                    r.intIn("max_line_chars", 0, Integer.MAX_VALUE), r.intIn("min_doc_chars", 0, Integer.MAX_VALUE),
                    r.longIn("max_doc_chars", 0, Long.MAX_VALUE), r.doubleIn("min_alpha_fraction", 0, 1),
                    r.doubleIn("max_duplicate_line_fraction", 0, 1), r.doubleIn("min_mean_word_length", 0, 1000),
                    r.doubleIn("max_mean_word_length", 0, 1000));
            DedupSettings dedup = new DedupSettings(r.bool("exact_dedup"), r.bool("near_dedup"),
                    r.intIn("shingle_size", 1, 100), r.intIn("minhash_permutations", 1, 1024),
                    r.doubleIn("near_dup_threshold", 0.01, 0.99),
                    r.longIn("dedup_index_mib", 1, 1 << 20) << 20);
            TokenizerKind kind = r.choice("tokenizer", TokenizerKind.class);
            List<String> specials = r.strings("special_tokens");
            int vocabSize = r.intIn("vocab_size", 1, Integer.MAX_VALUE);
            if (kind == TokenizerKind.WORDPIECE) {
                int least = WordPieceTrainer.SPECIAL_TOKENS.size() + 1;
                if (vocabSize < least || vocabSize > MAX_BPE_VOCAB) {
                    throw DataException.config("vocab size " + vocabSize + " is out of range: a trained wordpiece"
                            + " needs " + least + " to " + MAX_BPE_VOCAB + " (its 5 special tokens, then characters"
                            + " and word pieces)");
                }
            }
            if (kind == TokenizerKind.BPE) {
                int least = BpeTokenizer.BYTE_TOKENS + specials.size() + 1;
                if (vocabSize < least || vocabSize > MAX_BPE_VOCAB) {
                    throw DataException.config("vocab size " + vocabSize + " is out of range: a trained bpe"
                            + " with " + specials.size() + " special token(s) needs " + least + " to "
                            + MAX_BPE_VOCAB + " (256 byte tokens, the special tokens, at least one merge)");
                }
            }
            TokenizerSettings tokenizer = new TokenizerSettings(kind, vocabSize, specials,
                    r.longIn("bpe_sample_bytes", 1024, Long.MAX_VALUE));
            SplitSettings split = new SplitSettings(r.doubleIn("val_fraction", 0, 0.99),
                    r.longIn("seed", Long.MIN_VALUE, Long.MAX_VALUE));
            int threads = r.intIn("threads", 0, 4096);
            if (threads == 0) {
                threads = Runtime.getRuntime().availableProcessors();
            }
            return new PrepareSettings(read, clean, dedup, tokenizer, split,
                    r.longIn("shard_tokens", 1, Long.MAX_VALUE), threads,
                    r.intIn("batch_bytes", 1, 1 << 30), json(c));
        } catch (IllegalArgumentException e) {
            throw DataException.config("prepare settings: " + e.getMessage(), e);
        }
    }

    private static Charset charset(String name) throws DataException {
        try {
            return Charset.forName(name);
        } catch (IllegalArgumentException e) {
            throw DataException.config("encoding '" + name + "' is not one Java knows; use a name such as"
                    + " UTF-8, ISO-8859-1 or windows-1252");
        }
    }

    private static JsonNode json(Config c) {
        try {
            return MAPPER.readTree(c.root().render(ConfigRenderOptions.concise()));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new UncheckedIOException("HOCON rendered invalid JSON", e);
        }
    }
}
