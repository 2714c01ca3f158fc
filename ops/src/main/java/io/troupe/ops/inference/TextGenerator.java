package io.troupe.ops.inference;

import io.troupe.data.tokenize.Tokenizer;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * Autoregressive sampling from a {@link BatchDecoder} (one sequence): the prompt is prefilled,
 * then each sampled token is appended and the decoder gives the logits of the next, until the
 * token budget is spent or a stop string appears.
 */
public final class TextGenerator {
    /** Why generation ended, named as in the OpenAI API. */
    public enum FinishReason {
        /** The requested number of tokens was generated. */
        LENGTH,
        /** A stop string appeared; the text ends just before it. */
        STOP;

        /** "length" or "stop". */
        public String apiName() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /**
     * A finished generation.
     *
     * @param completion the generated text, cut before a stop string if one ended it
     * @param tokenIds every token sampled (with those of a stop string)
     * @param prefillNanos time to run the prompt and get the first token's logits
     * @param decodeNanos time of the decode steps after it, {@code decodeSteps} of them
     */
    public record Result(String completion, int[] tokenIds, FinishReason finishReason, long prefillNanos,
                         long decodeNanos, int decodeSteps) {
        /** Mean milliseconds per decode step, or 0 when there was none. */
        public double msPerToken() {
            return decodeSteps == 0 ? 0 : decodeNanos / 1e6 / decodeSteps;
        }
    }

    private final BatchDecoder decoder;
    private final Tokenizer tokenizer;

    public TextGenerator(BatchDecoder decoder, Tokenizer tokenizer) {
        if (decoder.vocabSize() != tokenizer.vocabSize()) {
            throw new IllegalArgumentException("the model has a vocabulary of " + decoder.vocabSize()
                    + " but the tokenizer has " + tokenizer.vocabSize() + "; they come from different runs");
        }
        this.decoder = decoder;
        this.tokenizer = tokenizer;
    }

    /**
     * Generates up to {@code maxTokens} tokens after {@code prompt}.
     *
     * @param repetitionPenalty > 0, 1 = none (see {@link RepetitionPenalty})
     * @param stops strings that end the generation (non-empty; may be empty list)
     * @param onText called with the completion piece by piece as it becomes final: text that
     *     might still turn out to start a stop string is held back until it cannot
     */
    public Result generate(String prompt, int maxTokens, TokenSampler sampler, double repetitionPenalty,
                           List<String> stops, Consumer<String> onText) throws Exception {
        int[] encoded = tokenizer.encode(prompt);
        if (encoded.length == 0) {
            throw new IllegalArgumentException("the prompt is empty; pass at least one character with --prompt");
        }
        for (String stop : stops) {
            if (stop.isEmpty()) {
                throw new IllegalArgumentException("a stop string must not be empty");
            }
        }
        if (maxTokens == 0) {
            return new Result("", new int[0], FinishReason.LENGTH, 0, 0, 0);
        }
        int vocab = decoder.vocabSize();
        RepetitionPenalty penalty = new RepetitionPenalty(repetitionPenalty, vocab);
        penalty.saw(encoded);
        StopScanner scanner = new StopScanner(stops, onText);
        List<Integer> ids = new ArrayList<>();
        long start = System.nanoTime();
        BatchDecoder.Opened opened = decoder.open(encoded);
        long prefill = System.nanoTime() - start;
        long decode = 0;
        int steps = 0;
        FinishReason reason = FinishReason.LENGTH;
        try {
            float[] logits = opened.logits();
            while (true) {
                penalty.apply(logits);
                int next = sampler.sample(logits, 0, vocab);
                ids.add(next);
                penalty.saw(next);
                if (scanner.append(tokenizer.decode(new int[] {next}))) {
                    reason = FinishReason.STOP;
                    break;
                }
                if (ids.size() == maxTokens) {
                    break;
                }
                long t0 = System.nanoTime();
                logits = decoder.step(List.of(opened.slot()), new int[] {next})[0];
                decode += System.nanoTime() - t0;
                steps++;
            }
        } finally {
            decoder.release(opened.slot());
        }
        scanner.finish();
        return new Result(scanner.text(), ids.stream().mapToInt(Integer::intValue).toArray(), reason, prefill, decode, steps);
    }

    /** Finds stop strings in the growing completion and passes on only text that cannot begin one. */
    private static final class StopScanner {
        private final List<String> stops;
        private final Consumer<String> onText;
        private final StringBuilder text = new StringBuilder();
        private final int longest;
        private int emitted;

        StopScanner(List<String> stops, Consumer<String> onText) {
            this.stops = stops;
            this.onText = onText;
            this.longest = stops.stream().mapToInt(String::length).max().orElse(0);
        }

        /** Appends a piece; true when a stop string now appears (the text is cut before it). */
        boolean append(String piece) {
            int before = text.length();
            text.append(piece);
            int from = Math.max(0, before - Math.max(0, longest - 1));
            int cut = -1;
            for (String stop : stops) {
                int at = text.indexOf(stop, from);
                if (at >= 0 && (cut < 0 || at < cut)) {
                    cut = at;
                }
            }
            if (cut >= 0) {
                text.setLength(cut);
                flush(cut);
                return true;
            }
            flush(text.length() - heldBack());
            return false;
        }

        /** Length of the longest tail of the text that is a proper prefix of a stop string. */
        private int heldBack() {
            int held = 0;
            if (longest < 2) {
                return 0;
            }
            String tail = text.substring(Math.max(0, text.length() - (longest - 1)));
            for (String stop : stops) {
                for (int k = Math.min(stop.length() - 1, tail.length()); k > held; k--) {
                    if (tail.regionMatches(tail.length() - k, stop, 0, k)) {
                        held = k;
                        break;
                    }
                }
            }
            return held;
        }

        private void flush(int upTo) {
            if (upTo > emitted) {
                onText.accept(text.substring(emitted, upTo));
                emitted = upTo;
            }
        }

        void finish() {
            flush(text.length());
        }

        String text() {
            return text.toString();
        }
    }
}
