package io.troupe.data.tokenize;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.troupe.data.DataException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Learns an uncased WordPiece vocabulary for pretraining a BERT-style encoder from scratch, and
 * returns it as a Hugging Face tokenizer.json ({@link HfJsonTokenizer}): BERT's normalizer and
 * pre-tokenizer, a WordPiece model with {@code ##} continuation, and BERT's special tokens
 * {@code [PAD] [UNK] [CLS] [SEP] [MASK]} as ids 0-4.
 *
 * <p>The algorithm is the Hugging Face library's WordPiece trainer's: BPE over characters, where
 * a character that continues a word is its own symbol {@code ##c}, merging the most frequent
 * adjacent pair ({@link PairMerger}) until the vocabulary is full; {@code "un" + "##ab"} makes
 * {@code "unab"}. The alphabet comes first: every character of the counted words, the most
 * frequent first when the vocabulary cannot hold them all (words with a dropped character are
 * then left out of training and encode to {@code [UNK]}).
 */
public final class WordPieceTrainer {

    /** BERT's special tokens, ids 0-4 in this order. */
    public static final List<String> SPECIAL_TOKENS = List.of("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]");
    /** Words longer than this (in characters) encode to [UNK], as in BERT. */
    public static final int MAX_WORD_CHARS = 100;

    private static final String PREFIX = "##";

    private WordPieceTrainer() {
    }

    /**
     * Trains a tokenizer.
     *
     * @param words the corpus as word counts ({@link PieceCounts#bertWords()})
     * @param vocabSize the vocabulary wanted, special tokens included; fewer result when no pair
     *     occurs twice any more
     * @throws IllegalArgumentException if {@code vocabSize} leaves no room beyond the 5 special
     *     tokens, or there are no words
     */
    public static HfJsonTokenizer train(PieceCounts words, int vocabSize) {
        if (vocabSize <= SPECIAL_TOKENS.size()) {
            throw new IllegalArgumentException("vocab_size " + vocabSize + " is too small: a WordPiece needs its "
                    + SPECIAL_TOKENS.size() + " special tokens and at least one more");
        }
        // Alphabet: each character as a word start and as a continuation, by frequency.
        Map<String, long[]> symbolCounts = new HashMap<>();
        words.forEach((word, count) -> {
            if (word.codePointCount(0, word.length()) > MAX_WORD_CHARS) {
                return;
            }
            int[] cps = word.codePoints().toArray();
            for (int i = 0; i < cps.length; i++) {
                symbolCounts.computeIfAbsent(symbol(cps[i], i > 0), k -> new long[1])[0] += count;
            }
        });
        if (symbolCounts.isEmpty()) {
            throw new IllegalArgumentException("no words to learn a WordPiece vocabulary from; pass text");
        }
        List<String> alphabet = new ArrayList<>(symbolCounts.keySet());
        alphabet.sort(Comparator.<String>comparingLong(s -> -symbolCounts.get(s)[0]).thenComparing(s -> s));
        List<String> vocab = new ArrayList<>(SPECIAL_TOKENS);
        Map<String, Integer> ids = new HashMap<>();
        for (int i = 0; i < vocab.size(); i++) {
            ids.put(vocab.get(i), i);
        }
        for (String s : alphabet.subList(0, Math.min(alphabet.size(), vocabSize - vocab.size()))) {
            ids.put(s, vocab.size());
            vocab.add(s);
        }

        List<int[]> symbols = new ArrayList<>();
        List<Long> weights = new ArrayList<>();
        words.forEach((word, count) -> {
            int[] cps = word.codePoints().toArray();
            if (cps.length > MAX_WORD_CHARS) {
                return;
            }
            int[] s = new int[cps.length];
            for (int i = 0; i < cps.length; i++) {
                Integer id = ids.get(symbol(cps[i], i > 0));
                if (id == null) {
                    return; // a character the vocabulary had no room for: the word is [UNK]
                }
                s[i] = id;
            }
            symbols.add(s);
            weights.add(count);
        });
        long[] w = new long[weights.size()];
        for (int i = 0; i < w.length; i++) {
            w[i] = weights.get(i);
        }
        new PairMerger(symbols.toArray(new int[0][]), w).run(() -> vocab.size() < vocabSize, (left, right) -> {
            String joined = vocab.get(left) + vocab.get(right).substring(PREFIX.length());
            Integer existing = ids.get(joined);
            if (existing != null) {
                return existing;
            }
            ids.put(joined, vocab.size());
            vocab.add(joined);
            return vocab.size() - 1;
        });
        try {
            return HfJsonTokenizer.fromJson(tokenizerJson(vocab), "the trained WordPiece tokenizer");
        } catch (DataException e) {
            throw new IllegalStateException("the WordPiece trainer built a tokenizer.json the library rejects: "
                    + e.getMessage(), e);
        }
    }

    private static String symbol(int codePoint, boolean continuation) {
        String c = new String(Character.toChars(codePoint));
        return continuation ? PREFIX + c : c;
    }

    /** The Hugging Face tokenizer.json of a BERT uncased WordPiece with this vocabulary. */
    static String tokenizerJson(List<String> vocab) {
        ObjectNode root = TokenizerJson.MAPPER.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        for (int id = 0; id < SPECIAL_TOKENS.size(); id++) {
            added.addObject().put("id", id).put("content", SPECIAL_TOKENS.get(id)).put("single_word", false)
                    .put("lstrip", false).put("rstrip", false).put("normalized", false).put("special", true);
        }
        root.putObject("normalizer").put("type", "BertNormalizer").put("clean_text", true)
                .put("handle_chinese_chars", true).putNull("strip_accents").put("lowercase", true);
        root.putObject("pre_tokenizer").put("type", "BertPreTokenizer");
        ObjectNode post = root.putObject("post_processor");
        post.put("type", "TemplateProcessing");
        ArrayNode single = post.putArray("single");
        single.addObject().putObject("SpecialToken").put("id", "[CLS]").put("type_id", 0);
        single.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        single.addObject().putObject("SpecialToken").put("id", "[SEP]").put("type_id", 0);
        ArrayNode pair = post.putArray("pair");
        pair.addObject().putObject("SpecialToken").put("id", "[CLS]").put("type_id", 0);
        pair.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        pair.addObject().putObject("SpecialToken").put("id", "[SEP]").put("type_id", 0);
        pair.addObject().putObject("Sequence").put("id", "B").put("type_id", 1);
        pair.addObject().putObject("SpecialToken").put("id", "[SEP]").put("type_id", 1);
        ObjectNode specials = post.putObject("special_tokens");
        for (String s : List.of("[CLS]", "[SEP]")) {
            ObjectNode t = specials.putObject(s);
            t.put("id", s);
            t.putArray("ids").add(SPECIAL_TOKENS.indexOf(s));
            t.putArray("tokens").add(s);
        }
        root.putObject("decoder").put("type", "WordPiece").put("prefix", PREFIX).put("cleanup", true);
        ObjectNode model = root.putObject("model");
        model.put("type", "WordPiece").put("unk_token", "[UNK]").put("continuing_subword_prefix", PREFIX)
                .put("max_input_chars_per_word", MAX_WORD_CHARS);
        ObjectNode vocabNode = model.putObject("vocab");
        for (int id = 0; id < vocab.size(); id++) {
            vocabNode.put(vocab.get(id), id);
        }
        return root.toString();
    }
}
