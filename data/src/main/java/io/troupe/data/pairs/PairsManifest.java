package io.troupe.data.pairs;

/** Names in a pairs dataset directory, shared by {@link PairsPreparer} and {@link PairDataset}. */
final class PairsManifest {

    static final String FILE_NAME = "manifest.json";
    static final String FORMAT = "troupe-pairs";
    static final int VERSION = 1;
    static final String SOURCE_TOKENS = "source.bin";
    static final String TARGET_TOKENS = "target.bin";
    static final String OFFSETS = "offsets.bin";
    /** Required by the data's licence (CC BY 2.0) wherever a model trained on it is published. */
    static final String TATOEBA_ATTRIBUTION = "www.manythings.org/anki and tatoeba.org";

    private PairsManifest() {
    }
}
