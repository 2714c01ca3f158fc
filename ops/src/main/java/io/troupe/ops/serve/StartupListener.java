package io.troupe.ops.serve;

/**
 * Hears how a model is opened for serving, to show progress at {@code troupe serve} start-up.
 * Each phase has a weight (the bytes of the graph it opens; {@link #onStart} gives their sum)
 * so that the time the first phases took can estimate what is left. Calls come from the thread
 * that opens the model, in order.
 */
public interface StartupListener {

    /** Listens to nothing. */
    StartupListener NONE = new StartupListener() { };

    /** The steps of opening a model. */
    enum Phase {
        /** The export's main graph and its tokenizer (or a classifier's, an encoder's, a seq2seq model's graphs). */
        LOAD_MODEL("loading the model"),
        /** The KV-cache decoder's graph sessions (prefill and decode). */
        GRAPH_SESSIONS("opening the decoding sessions"),
        /** One short prompt and one decoding step, so that ORT's first-run allocations are not a client's wait. */
        WARM_UP("warming up");

        private final String label;

        Phase(String label) {
            this.label = label;
        }

        /** What the phase does, for a progress line. */
        public String label() {
            return label;
        }
    }

    /** Opening starts; {@code totalWeight} is the sum of the weights of the phases that will run. */
    default void onStart(long totalWeight) {
    }

    /** A phase starts. */
    default void onPhaseStart(Phase phase, long weight) {
    }

    /** The phase that started last ended. */
    default void onPhaseEnd(Phase phase) {
    }

    /** The model is open (also after a phase failed, with {@code ok} false). */
    default void onDone(boolean ok) {
    }
}
