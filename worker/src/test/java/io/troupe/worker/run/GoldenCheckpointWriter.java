package io.troupe.worker.run;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.troupe.worker.checkpoint.Checkpoint;
import io.troupe.worker.checkpoint.CheckpointStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Wrote the golden checkpoint under {@code src/test/resources/golden/} (see the README there).
 * Not part of the test suite (its name does not end in Test); kept to record how the file was
 * made. Never run it to make {@link GoldenCheckpointTest} pass: that test exists to notice when
 * the current code no longer reads what an earlier version wrote.
 *
 * <pre>
 * ./mvnw -B -o -q test -pl worker -am -Dtest=GoldenCheckpointWriter \
 *     -Dsurefire.failIfNoSpecifiedTests=false -Dgolden.out=$PWD/worker/src/test/resources/golden
 * </pre>
 */
class GoldenCheckpointWriter {

    @Test
    void write() throws Exception {
        String out = System.getProperty("golden.out");
        assertTrue(out != null, "pass -Dgolden.out=DIR");
        Path golden = Path.of(out);
        Files.createDirectories(golden);
        Files.writeString(golden.resolve(GoldenCheckpointTest.CORPUS), corpus());
        Path run = Files.createTempDirectory("golden-run");
        GoldenCheckpointTest.trainer(run, golden.resolve(GoldenCheckpointTest.CORPUS), 2).run(false,
                TrainListener.SILENT);
        Path file = golden.resolve(GoldenCheckpointTest.CHECKPOINT);
        Files.copy(new CheckpointStore(run, 1).pathOf(2), file, StandardCopyOption.REPLACE_EXISTING);
        Checkpoint c = CheckpointStore.load(file);
        // The expected state after step 3 comes from an uninterrupted run, not from a resume.
        Path uninterrupted = Files.createTempDirectory("golden-run-3");
        GoldenCheckpointTest.trainer(uninterrupted, golden.resolve(GoldenCheckpointTest.CORPUS), 3).run(false,
                TrainListener.SILENT);
        Checkpoint at3 = CheckpointStore.load(new CheckpointStore(uninterrupted, 1).pathOf(3));
        System.out.println("identity " + c.config());
        System.out.println("tokenizer " + c.tokenizer());
        System.out.println("parameters " + c.parameters().length + " crc32 " + GoldenCheckpointTest.crc32(c.parameters())
                + " m " + GoldenCheckpointTest.crc32(c.adamM()) + " v " + GoldenCheckpointTest.crc32(c.adamV()));
        System.out.println("sampler@2 " + Arrays.toString(c.samplerState()));
        System.out.println("sampler@3 " + Arrays.toString(at3.samplerState()));
        c.extraRngState().forEach((k, v) -> System.out.println(k + "@2 " + Arrays.toString(v)));
        at3.extraRngState().forEach((k, v) -> System.out.println(k + "@3 " + Arrays.toString(v)));
        System.out.println("bytes " + Files.size(file));
    }

    /** A few hundred characters over a 6-symbol alphabet, so the model (and the file) stays tiny. */
    private static String corpus() {
        String[] words = {"ab", "ba", "cab", "dab", "bad", "cd"};
        Random random = new Random(2026);
        StringBuilder text = new StringBuilder();
        while (text.length() < 400) {
            text.append(words[random.nextInt(words.length)]).append(random.nextInt(6) == 0 ? '\n' : ' ');
        }
        return text.toString();
    }
}
