package io.troupe.data.ingest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.troupe.data.DataException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InputFilesTest {

    @TempDir
    Path dir;

    @Test
    void directoriesAreWalkedInSortedOrderAndFilesKeptAsGiven() throws Exception {
        Path corpus = Files.createDirectories(dir.resolve("corpus/sub"));
        Files.writeString(dir.resolve("corpus/b.txt"), "b");
        Files.writeString(dir.resolve("corpus/a.md"), "a");
        Files.writeString(dir.resolve("corpus/sub/c.jsonl.gz"), "");
        Files.writeString(dir.resolve("corpus/sub/d.NDJSON"), "");
        Files.writeString(dir.resolve("corpus/image.png"), "png");
        Files.writeString(dir.resolve("corpus/.hidden.txt"), "h");
        Path loose = Files.writeString(dir.resolve("notes.log"), "explicit");
        InputFiles files = InputFiles.expand(List.of(corpus.getParent(), loose, corpus.getParent()));
        assertEquals(List.of("a.md", "b.txt", "sub/c.jsonl.gz", "sub/d.NDJSON", "notes.log"),
                files.files().stream().map(InputFile::id).toList());
        assertEquals(1, files.unsupported());
        InputFile gz = files.files().get(2);
        assertEquals(InputFile.Format.JSONL, gz.format());
        assertTrue(gz.gzip());
        assertEquals(InputFile.Format.JSONL, files.files().get(3).format());
        assertEquals(InputFile.Format.TEXT, files.files().get(4).format());
    }

    @Test
    void aMissingPathIsAOneLineError() {
        DataException e = assertThrows(DataException.class,
                () -> InputFiles.expand(List.of(dir.resolve("nope"))));
        assertEquals("input " + dir.resolve("nope") + " does not exist; pass a file or a directory of .txt, .md or"
                + " .jsonl files", e.getMessage());
    }

    @Test
    void aDirectoryWithoutCorpusFilesIsAnError() throws Exception {
        Files.writeString(dir.resolve("x.csv"), "1,2");
        DataException e = assertThrows(DataException.class, () -> InputFiles.expand(List.of(dir)));
        assertTrue(e.getMessage().startsWith("no .txt, .md, .jsonl or .ndjson files"), e.getMessage());
        assertTrue(e.getMessage().contains("(1 other files ignored)"), e.getMessage());
    }

    @Test
    void documentationFilesInADirectoryAreSkippedUnlessAskedFor(@TempDir Path elsewhere) throws Exception {
        Files.writeString(dir.resolve("input.txt"), "text");
        Files.writeString(dir.resolve("README.md"), "about");
        Files.writeString(dir.resolve("SOURCE_README.txt"), "source");
        Files.writeString(dir.resolve("license.txt"), "terms");
        Files.writeString(dir.resolve("COPYING"), "terms"); // no corpus extension: ignored for that
        Path named = Files.writeString(elsewhere.resolve("README.txt"), "x");

        InputFiles files = InputFiles.expand(List.of(dir, named));
        assertEquals(List.of("input.txt", "README.txt"), files.files().stream().map(InputFile::id).toList(),
                "a file named on the command line is read whatever its name");
        assertEquals(List.of("README.md", "SOURCE_README.txt", "license.txt"), files.documentation());
        assertEquals(1, files.unsupported());

        InputFiles all = InputFiles.expand(List.of(dir), new InputSelection(List.of(), true));
        assertEquals(List.of("README.md", "SOURCE_README.txt", "input.txt", "license.txt"),
                all.files().stream().map(InputFile::id).toList());
        assertEquals(List.of(), all.documentation());
    }

    @Test
    void excludeGlobsMatchTheRelativePathOrTheNameAtAnyDepth() throws Exception {
        Files.createDirectories(dir.resolve("drafts/old"));
        Files.createDirectories(dir.resolve("books"));
        Files.writeString(dir.resolve("drafts/old/a.txt"), "a");
        Files.writeString(dir.resolve("books/b.txt"), "b");
        Files.writeString(dir.resolve("books/notes.md"), "n");
        Files.writeString(dir.resolve("c.md"), "c");

        InputFiles files = InputFiles.expand(List.of(dir), new InputSelection(List.of("drafts/**", "*.md"), false));
        assertEquals(List.of("books/b.txt"), files.files().stream().map(InputFile::id).toList());
        assertEquals(List.of("books/notes.md", "c.md", "drafts/old/a.txt"), files.excluded());

        DataException e = assertThrows(DataException.class,
                () -> InputFiles.expand(List.of(dir), new InputSelection(List.of("**"), false)));
        assertTrue(e.getMessage().endsWith("(4 files matched --exclude)"), e.getMessage());
        DataException bad = assertThrows(DataException.class,
                () -> InputFiles.expand(List.of(dir), new InputSelection(List.of("a[b"), false)));
        assertTrue(bad.getMessage().startsWith("--exclude 'a[b' is not a valid glob"), bad.getMessage());
    }
}
