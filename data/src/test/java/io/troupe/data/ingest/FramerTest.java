package io.troupe.data.ingest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.util.ByteString;
import org.junit.jupiter.api.Test;

class FramerTest {

    private static final InputFile TEXT = new InputFile(Path.of("a.txt"), "dir/a.txt", InputFile.Format.TEXT, false, 0);
    private static final InputFile JSONL = new InputFile(Path.of("b.jsonl"), "b.jsonl", InputFile.Format.JSONL, false, 0);

    @Test
    void textIsCutAtBlankLinesAndNothingIsLost() {
        StringBuilder text = new StringBuilder();
        for (int p = 0; p < 40; p++) {
            text.append("Paragraph ").append(p).append(" line one.\nline two of it.\n\n");
        }
        byte[] bytes = text.toString().getBytes(StandardCharsets.UTF_8);
        List<Ingested> docs = feed(new TextChunker(TEXT, 200), bytes, 37);
        ByteArrayOutputStream joined = new ByteArrayOutputStream();
        long line = 1;
        for (int i = 0; i < docs.size(); i++) {
            RawDocument d = assertInstanceOf(RawDocument.class, docs.get(i));
            assertEquals("dir/a.txt#" + i, d.id());
            assertEquals(line, d.line());
            assertTrue(d.bytes().length <= 200);
            String s = new String(d.bytes(), StandardCharsets.UTF_8);
            if (i < docs.size() - 1) {
                assertTrue(s.endsWith("\n\n") && s.startsWith("Paragraph"), s);
            }
            line += s.chars().filter(c -> c == '\n').count();
            joined.writeBytes(d.bytes());
        }
        assertEquals(text.toString(), joined.toString(StandardCharsets.UTF_8));
        assertTrue(docs.size() > 5);
    }

    @Test
    void aLineLongerThanTheLimitIsCutOutsideCharacters() {
        String text = "é".repeat(300); // 600 bytes, no newline
        List<Ingested> docs = feed(new TextChunker(TEXT, 101), text.getBytes(StandardCharsets.UTF_8), 64);
        StringBuilder joined = new StringBuilder();
        for (Ingested d : docs) {
            String s = new String(((RawDocument) d).bytes(), StandardCharsets.UTF_8);
            assertTrue(!s.contains("\uFFFD"), s);
            joined.append(s);
        }
        assertEquals(text, joined.toString());
    }

    @Test
    void aNulByteMakesAFileBinary() {
        byte[] bytes = new byte[20000];
        java.util.Arrays.fill(bytes, (byte) 'a');
        bytes[5000] = 0;
        for (Framer framer : List.of(new TextChunker(TEXT, 1000), new LineFramer(JSONL, 1000))) {
            List<Ingested> out = feed(framer, bytes, 4096);
            assertEquals(1, out.size());
            SkippedInput s = assertInstanceOf(SkippedInput.class, out.get(0));
            assertEquals(SkippedInput.Reason.BINARY_FILE, s.reason());
            assertTrue(framer.isBinary());
        }
        // a NUL after the first 8 KiB is not sniffed: the file is text with a stray control character
        bytes[5000] = 'a';
        bytes[9000] = 0;
        assertTrue(feed(new TextChunker(TEXT, 1000), bytes, 4096).stream().allMatch(d -> d instanceof RawDocument));
    }

    @Test
    void jsonlLinesAreNumberedAndBlankOrOverlongLinesHandled() {
        String jsonl = "{\"text\":\"one\"}\r\n\n   \n{\"text\":\"two\"}\n" + "{\"text\":\"" + "x".repeat(100)
                + "\"}\n{\"text\":\"three\"}";
        List<Ingested> out = feed(new LineFramer(JSONL, 50), jsonl.getBytes(StandardCharsets.UTF_8), 7);
        assertEquals(4, out.size());
        RawDocument one = (RawDocument) out.get(0);
        assertEquals("{\"text\":\"one\"}", new String(one.bytes(), StandardCharsets.UTF_8));
        assertEquals("b.jsonl:1", one.id());
        assertEquals(4, ((RawDocument) out.get(1)).line());
        SkippedInput tooLong = (SkippedInput) out.get(2);
        assertEquals(SkippedInput.Reason.LINE_TOO_LONG, tooLong.reason());
        assertEquals(5, tooLong.line());
        assertTrue(tooLong.describe().startsWith("b.jsonl:5: JSONL line longer than"), tooLong.describe());
        RawDocument three = (RawDocument) out.get(3);
        assertEquals(6, three.line());
        assertEquals("{\"text\":\"three\"}", new String(three.bytes(), StandardCharsets.UTF_8));
    }

    @Test
    void jsonlTextFieldIsExtracted() {
        assertEquals("hi \"you\"\n", JsonlText.extract("{\"id\":1,\"meta\":{\"text\":\"no\"},\"text\":\"hi \\\"you\\\"\\n\"}",
                "text").text());
        assertEquals("no field \"text\"", JsonlText.extract("{\"body\":\"x\"}", "text").problem());
        assertEquals("field \"text\" is not a string", JsonlText.extract("{\"text\":5}", "text").problem());
        assertEquals("not a JSON object", JsonlText.extract("[1,2]", "text").problem());
        assertTrue(JsonlText.extract("{\"text\":\"cut", "text").problem().startsWith("malformed JSON"));
        assertEquals("text after the JSON object", JsonlText.extract("{\"text\":\"a\"} {}", "text").problem());
        assertEquals("x", JsonlText.extract("{\"content\":\"x\"}", "content").text());
    }

    private static List<Ingested> feed(Framer framer, byte[] bytes, int chunk) {
        List<Ingested> out = new ArrayList<>();
        for (int i = 0; i < bytes.length; i += chunk) {
            out.addAll(framer.accept(ByteString.fromArray(bytes, i, Math.min(chunk, bytes.length - i))));
        }
        out.addAll(framer.finish());
        return out;
    }
}
