package io.troupe.data.prepare;

import java.nio.file.Path;
import java.util.List;

/**
 * Runs a bpe prepare in its own JVM and kills that JVM (as kill -9 would: no shutdown hooks, no
 * finally blocks) once every shard is written, just before the tokenizer and manifest: the
 * moment a crash is most tempting to mistake for a finished dataset.
 */
final class HaltingPrepare {

    /** Exit status of the halt, so the test can tell it from other failures. */
    static final int HALTED = 97;

    private HaltingPrepare() {
    }

    public static void main(String[] args) throws Exception {
        PrepareListener halter = new PrepareListener() {
            @Override
            public void onPhaseEnd(Phase phase) {
                if (phase == Phase.TOKENIZE) {
                    Runtime.getRuntime().halt(HALTED);
                }
            }
        };
        DatasetFixture.prepare(List.of(Path.of(args[0])), Path.of(args[1]), false, halter, "tokenizer=bpe",
                "vocab_size=300", "shard_tokens=300");
        System.exit(0);
    }
}
