package io.troupe.data.prepare;

import java.util.List;

/**
 * Hears how a prepare run advances, to draw a progress bar. Calls come from stream threads, one
 * at a time, in order; they must return quickly.
 */
public interface PrepareListener {

    /** Listens to nothing. */
    PrepareListener NONE = new PrepareListener() { };

    /** The passes of a run. */
    enum Phase {
        /** Read, decode, clean, dedup (and for gpt2 also tokenize and write); progress in input bytes. */
        CLEAN("clean"),
        /** Count pieces (or words) of the train split and learn a BPE or WordPiece; progress in text bytes. */
        TRAIN_TOKENIZER("train tokenizer"),
        /** Tokenize the cleaned documents and write shards; progress in text bytes. */
        TOKENIZE("tokenize");

        private final String label;

        Phase(String label) {
            this.label = label;
        }

        /** A short name for a progress bar. */
        public String label() {
            return label;
        }
    }

    /**
     * Files under an input directory were left out before reading: README/LICENSE-like files
     * and files that matched an exclude glob, as paths relative to their input. Called once,
     * before the first phase, and only if something was left out.
     */
    default void onSkippedFiles(List<String> documentation, List<String> excluded) {
    }

    /** A phase starts; {@code totalBytes} is what its progress counts up to. */
    default void onPhaseStart(Phase phase, long totalBytes) {
    }

    /** Progress within a phase: bytes processed and documents seen so far. */
    default void onProgress(Phase phase, long bytes, long documents) {
    }

    /** A phase ended. */
    default void onPhaseEnd(Phase phase) {
    }
}
