package io.troupe.data.tokenize;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Learns a byte-level BPE vocabulary: start from the 256 bytes and repeatedly merge the most
 * frequent adjacent pair of tokens inside the corpus's pieces, until the vocabulary holds
 * {@code vocabSize} tokens (special tokens included). The merge loop is {@link PairMerger}'s:
 * incremental, and deterministic (ties go to the pair with the smaller ids).
 */
public final class BpeTrainer {

    private BpeTrainer() {
    }

    /**
     * Trains a tokenizer.
     *
     * @param counts the corpus as piece counts
     * @param vocabSize the vocabulary wanted, special tokens included; fewer tokens result when
     *     the corpus runs out of pairs that occur at least twice
     * @param specialTokens tokens appended after the merges, e.g. {@code <|endoftext|>}
     * @throws IllegalArgumentException if {@code vocabSize} leaves no room for the 256 bytes
     *     and the special tokens
     */
    public static BpeTokenizer train(PieceCounts counts, int vocabSize, List<String> specialTokens) {
        int wantedMerges = vocabSize - BpeTokenizer.BYTE_TOKENS - specialTokens.size();
        if (wantedMerges < 0) {
            throw new IllegalArgumentException("vocab_size " + vocabSize + " is too small: the 256"
                    + " byte tokens and " + specialTokens.size() + " special token(s) need "
                    + (BpeTokenizer.BYTE_TOKENS + specialTokens.size()));
        }
        int n = counts.distinct();
        int[][] symbols = new int[n][];
        long[] weights = new long[n];
        int[] index = {0};
        counts.forEach((piece, count) -> {
            byte[] bytes = piece.getBytes(StandardCharsets.UTF_8);
            int[] s = new int[bytes.length];
            for (int i = 0; i < bytes.length; i++) {
                s[i] = bytes[i] & 0xFF;
            }
            symbols[index[0]] = s;
            weights[index[0]] = count;
            index[0]++;
        });
        List<byte[]> tokenBytes = new ArrayList<>();
        Map<ByteBuffer, Integer> idOfBytes = new HashMap<>();
        for (int b = 0; b < BpeTokenizer.BYTE_TOKENS; b++) {
            byte[] one = {(byte) b};
            tokenBytes.add(one);
            idOfBytes.put(ByteBuffer.wrap(one), b);
        }
        List<int[]> merges = new ArrayList<>();
        new PairMerger(symbols, weights).run(() -> merges.size() < wantedMerges, (left, right) -> {
            byte[] joined = concat(tokenBytes.get(left), tokenBytes.get(right));
            // Two different pairs can spell the same bytes ("a"+"bc", "ab"+"c"); the rank table
            // needs one id per spelling, so the second merge reuses the first one's token.
            Integer existing = idOfBytes.get(ByteBuffer.wrap(joined));
            if (existing != null) {
                return existing;
            }
            int merged = tokenBytes.size();
            tokenBytes.add(joined);
            idOfBytes.put(ByteBuffer.wrap(joined), merged);
            merges.add(new int[] {left, right});
            return merged;
        });
        return BpeTokenizer.of(merges.toArray(new int[0][]), specialTokens);
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
