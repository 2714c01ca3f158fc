package io.troupe.ops.inference;

import io.troupe.data.tokenize.Tokenizer;
import java.util.Arrays;
import java.util.List;

/**
 * Turns one sequence's generated tokens into text deltas as they arrive, and finds its stop
 * strings. Text that might be the start of a stop string (or half of a multi-byte character)
 * is held back until the next tokens settle it, so a client never sees part of a stop string.
 */
final class StopScanner {
    private static final char REPLACEMENT = '\uFFFD';

    private final Tokenizer tokenizer;
    private final List<String> stops;
    /** The continuation's tokens: tokens[0, count). An int array, not a boxed list: this runs once per token of every sequence. */
    private int[] tokens = new int[64];
    private int count;
    private String text = "";
    private int sent;
    private boolean stopped;

    StopScanner(Tokenizer tokenizer, List<String> stops) {
        this.tokenizer = tokenizer;
        this.stops = List.copyOf(stops);
    }

    /** Adds a token; returns the text that is now safe to send (may be empty). */
    String append(int token) {
        if (count == tokens.length) {
            tokens = Arrays.copyOf(tokens, 2 * count);
        }
        tokens[count++] = token;
        // Decoding the whole continuation keeps multi-byte characters split over tokens intact.
        text = tokenizer.decode(Arrays.copyOf(tokens, count));
        int stopAt = -1;
        for (String stop : stops) {
            int at = text.indexOf(stop, Math.max(0, sent - stop.length()));
            if (at >= 0 && (stopAt < 0 || at < stopAt)) {
                stopAt = at;
            }
        }
        if (stopAt >= 0) {
            stopped = true;
            String delta = stopAt > sent ? text.substring(sent, stopAt) : "";
            sent = text.length();
            return delta;
        }
        int safe = text.length();
        if (safe > sent && text.charAt(safe - 1) == REPLACEMENT) {
            safe--; // probably the first bytes of a character the next token completes
        }
        safe -= heldBack(safe);
        if (safe <= sent) {
            return "";
        }
        String delta = text.substring(sent, safe);
        sent = safe;
        return delta;
    }

    /** Longest tail of text[0, end) that is a proper prefix of some stop string. */
    private int heldBack(int end) {
        int hold = 0;
        for (String stop : stops) {
            for (int k = Math.min(stop.length() - 1, end - sent); k > hold; k--) {
                if (text.regionMatches(end - k, stop, 0, k)) {
                    hold = k;
                    break;
                }
            }
        }
        return hold;
    }

    /** True once a stop string appeared; nothing from it on is ever sent. */
    boolean stopped() {
        return stopped;
    }

    /** The text held back, sent when the sequence ends without a stop string. */
    String flush() {
        if (stopped) {
            return "";
        }
        String rest = text.substring(sent);
        sent = text.length();
        return rest;
    }
}
