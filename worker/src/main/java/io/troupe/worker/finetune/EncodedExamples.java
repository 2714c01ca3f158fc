package io.troupe.worker.finetune;

import io.troupe.data.labelled.LabelledExample;
import io.troupe.data.tokenize.Tokenizer;
import java.util.ArrayList;
import java.util.List;

/**
 * Labelled texts as token ids for a classifier: each text encoded with the model's tokenizer and
 * cut to the first {@code maxLength} tokens. Characters the vocabulary cannot represent (a
 * character-level model meets new text) are dropped and counted, never silently: the counts go
 * to the run's summary.
 *
 * @param tokens one row of ids per example, 1 .. maxLength long
 * @param labels the class index of each example
 * @param droppedCharacters characters left out because the vocabulary has no token for them
 * @param truncated examples longer than maxLength, cut
 */
public record EncodedExamples(List<long[]> tokens, int[] labels, long droppedCharacters, int truncated) {

    public EncodedExamples {
        tokens = List.copyOf(tokens);
        labels = labels.clone();
        if (tokens.size() != labels.length) {
            throw new IllegalArgumentException(tokens.size() + " token rows but " + labels.length + " labels");
        }
    }

    public int size() {
        return labels.length;
    }

    /** The longest row. */
    public int maxLength() {
        return tokens.stream().mapToInt(t -> t.length).max().orElse(1);
    }

    @Override
    public int[] labels() {
        return labels.clone();
    }

    /** The label of example {@code i}. */
    public int label(int i) {
        return labels[i];
    }

    /**
     * Encodes {@code examples}; an example with no encodable character becomes one token 0 (its
     * characters are counted as dropped).
     */
    public static EncodedExamples encode(List<LabelledExample> examples, Tokenizer tokenizer, int maxLength) {
        return encode(examples, tokenizer, maxLength, null);
    }

    /**
     * Encodes {@code examples}, wrapping each in {@code specials} ({@code [CLS] text [SEP]}, an
     * encoder's input) when not null; a text longer than {@code maxLength} with its specials is
     * cut before the [SEP], and counted as truncated.
     */
    public static EncodedExamples encode(List<LabelledExample> examples, Tokenizer tokenizer, int maxLength,
                                         SpecialTokens specials) {
        if (specials != null && maxLength < 3) {
            throw new IllegalArgumentException("an encoder needs room for [CLS], a token and [SEP], got max length "
                    + maxLength);
        }
        List<long[]> rows = new ArrayList<>(examples.size());
        int[] labels = new int[examples.size()];
        long dropped = 0;
        int truncated = 0;
        for (int i = 0; i < examples.size(); i++) {
            LabelledExample e = examples.get(i);
            int[] ids;
            try {
                ids = tokenizer.encode(e.text());
            } catch (IllegalArgumentException unknown) {
                List<Integer> kept = new ArrayList<>();
                int[] points = e.text().codePoints().toArray();
                for (int cp : points) {
                    try {
                        for (int id : tokenizer.encode(new String(Character.toChars(cp)))) {
                            kept.add(id);
                        }
                    } catch (IllegalArgumentException none) {
                        dropped++;
                    }
                }
                ids = kept.stream().mapToInt(Integer::intValue).toArray();
            }
            long[] row;
            if (specials != null) {
                int room = maxLength - 2;
                if (ids.length > room) {
                    truncated++;
                }
                int n = Math.min(ids.length, room);
                row = new long[n + 2];
                row[0] = specials.cls();
                for (int j = 0; j < n; j++) {
                    row[j + 1] = ids[j];
                }
                row[n + 1] = specials.sep();
            } else {
                if (ids.length == 0) {
                    ids = new int[] {0};
                }
                if (ids.length > maxLength) {
                    truncated++;
                }
                row = new long[Math.min(ids.length, maxLength)];
                for (int j = 0; j < row.length; j++) {
                    row[j] = ids[j];
                }
            }
            rows.add(row);
            labels[i] = e.label();
        }
        return new EncodedExamples(rows, labels, dropped, truncated);
    }

    /**
     * Writes rows {@code order[from .. from+n)} (indices into this set) right-padded with token 0
     * into {@code idx} [n, t], their lengths into {@code lengths} [n] and labels into {@code labels} [n].
     */
    void fill(int[] order, int from, int n, int t, java.nio.LongBuffer idx, java.nio.LongBuffer lengths,
              java.nio.LongBuffer labelsOut) {
        for (int r = 0; r < n; r++) {
            int i = order[from + r];
            long[] row = tokens.get(i);
            for (int j = 0; j < t; j++) {
                idx.put(j < row.length ? row[j] : 0);
            }
            lengths.put(row.length);
            if (labelsOut != null) {
                labelsOut.put(this.labels[i]);
            }
        }
    }
}
