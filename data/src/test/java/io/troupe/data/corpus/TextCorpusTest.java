package io.troupe.data.corpus;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.troupe.data.DataException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TextCorpusTest {

    @TempDir
    Path dir;

    @Test
    void loadsUtf8Text() throws Exception {
        Path file = dir.resolve("input.txt");
        Files.writeString(file, "First Citizen:\nBefore we proceed — any further, hear me 🎭.\n");
        TextCorpus corpus = TextCorpus.load(file);
        assertEquals(Files.readString(file), corpus.text());
        assertEquals(file, corpus.path());
    }

    @Test
    void dropsALeadingByteOrderMark() throws Exception {
        Path file = dir.resolve("bom.txt");
        Files.write(file, new byte[] {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF, 'h', 'i'});
        assertEquals("hi", TextCorpus.load(file).text());
        Files.write(file, new byte[] {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF});
        assertRejected(file, "only a byte order mark");
    }

    @Test
    void rejectsMissingFile() {
        assertRejected(dir.resolve("missing.txt"), "does not exist");
    }

    @Test
    void rejectsDirectory() {
        assertRejected(dir, "is a directory");
    }

    @Test
    void rejectsEmptyFile() throws IOException {
        Path file = Files.createFile(dir.resolve("empty.txt"));
        assertRejected(file, "is empty");
    }

    @Test
    void rejectsBinaryFile() throws IOException {
        Path file = dir.resolve("model.onnx");
        Files.write(file, new byte[] {'O', 'N', 'N', 'X', 0, 1, 2});
        assertRejected(file, "NUL byte at offset 4");
    }

    @Test
    void rejectsInvalidUtf8WithTheOffset() throws IOException {
        Path file = dir.resolve("latin1.txt");
        Files.write(file, "café au lait".getBytes(StandardCharsets.ISO_8859_1));
        assertRejected(file, "not valid UTF-8 (bad byte sequence at offset 3)");
        // a multi-byte sequence cut short at the end of the file
        Files.write(file, new byte[] {'o', 'k', (byte) 0xE2, (byte) 0x80});
        assertRejected(file, "not valid UTF-8");
    }

    private static void assertRejected(Path file, String expected) {
        DataException e = assertThrows(DataException.class, () -> TextCorpus.load(file));
        assertTrue(e.getMessage().contains(expected), e.getMessage());
        assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
        assertTrue(!e.getMessage().contains("\n"), "one-line message: " + e.getMessage());
    }
}
