package io.troupe.data.prepare;

import static io.troupe.data.prepare.DatasetFixture.jsonl;
import static io.troupe.data.prepare.DatasetFixture.prepare;
import static io.troupe.data.prepare.DatasetFixture.prose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.troupe.data.shard.Manifest;
import io.troupe.data.shard.PreparedDataset;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InterruptedPrepareTest {

    @TempDir
    Path dir;

    @Test
    void aKilledRunLeavesShardsButNoManifestAndTheDirectoryIsReusable() throws Exception {
        Path corpus = Files.createDirectories(dir.resolve("corpus"));
        List<String> docs = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            docs.add(prose(i, 100));
        }
        jsonl(corpus.resolve("a.jsonl"), docs);
        Path out = dir.resolve("out");

        Process child = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), HaltingPrepare.class.getName(),
                corpus.toString(), out.toString())
                .redirectErrorStream(true).redirectOutput(dir.resolve("child.log").toFile()).start();
        assertTrue(child.waitFor(60, TimeUnit.SECONDS), "the child prepare finished");
        assertEquals(HaltingPrepare.HALTED, child.exitValue(), Files.readString(dir.resolve("child.log")));

        try (Stream<Path> files = Files.walk(out)) {
            assertTrue(files.anyMatch(p -> p.getFileName().toString().startsWith("shard-")),
                    "the run was killed after writing shards");
        }
        assertFalse(Files.exists(out.resolve(Manifest.FILE_NAME)), "no manifest: the dataset is not complete");
        assertFalse(PreparedDataset.isPrepared(out));

        // the leftovers are not a dataset: a new run needs no --force, and clears them
        prepare(List.of(corpus), out, false, "tokenizer=char");
        PreparedDataset data = PreparedDataset.open(out);
        assertEquals("char", data.manifest().tokenizer());
        assertFalse(Files.exists(out.resolve(OutputDirectory.STAGING)));
    }
}
