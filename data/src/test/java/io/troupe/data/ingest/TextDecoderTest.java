package io.troupe.data.ingest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.troupe.data.DataException;
import io.troupe.data.report.Counter;
import io.troupe.data.report.Counters;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class TextDecoderTest {

    private static final InputFile FILE = new InputFile(Path.of("/corpus/book.txt"), "book.txt",
            InputFile.Format.TEXT, false, 0);
    // "line one\nline two café\n" with é in Latin-1 (0xE9): invalid UTF-8 on line 2 (of a document
    // starting at line 10 of its file, so line 11)
    private static final byte[] LATIN1 = "line one\nline two caf\u00E9\n".getBytes(StandardCharsets.ISO_8859_1);

    private final Counters counters = new Counters();

    @Test
    void validUtf8DecodesAsIsAndLosesItsByteOrderMark() throws DataException {
        byte[] bytes = "\uFEFFnaïve 🎭 text".getBytes(StandardCharsets.UTF_8);
        assertEquals("naïve 🎭 text", decoder(OnInvalid.FAIL, false).decode(doc(bytes), counters));
        assertEquals(0, counters.get(Counter.INVALID_ENCODING_DOCS));
    }

    @Test
    void replaceSubstitutesAndCounts() throws DataException {
        String text = decoder(OnInvalid.REPLACE, false).decode(doc(LATIN1), counters);
        assertEquals("line one\nline two caf\uFFFD\n", text);
        assertEquals(1, counters.get(Counter.INVALID_ENCODING_DOCS));
        assertEquals(1, counters.get(Counter.INVALID_ENCODING_SEQUENCES));
        assertEquals(0, counters.get(Counter.INVALID_ENCODING_DROPPED));
        // a multi-byte sequence cut short at the end
        assertEquals("ok\uFFFD", decoder(OnInvalid.REPLACE, false).decode(doc(new byte[] {'o', 'k', (byte) 0xE2,
            (byte) 0x82}), counters));
    }

    @Test
    void skipDropsTheDocumentAndCounts() throws DataException {
        assertNull(decoder(OnInvalid.SKIP, false).decode(doc(LATIN1), counters));
        assertEquals(1, counters.get(Counter.INVALID_ENCODING_DOCS));
        assertEquals(1, counters.get(Counter.INVALID_ENCODING_DROPPED));
    }

    @Test
    void failNamesFileLineAndByte() {
        DataException e = assertThrows(DataException.class,
                () -> decoder(OnInvalid.FAIL, false).decode(doc(LATIN1), counters));
        assertTrue(e.getMessage().startsWith("/corpus/book.txt:11: invalid UTF-8 (byte 0xE9)"), e.getMessage());
        assertTrue(!e.getMessage().contains("\n"), e.getMessage());
        // strict turns replace into fail
        assertThrows(DataException.class, () -> decoder(OnInvalid.REPLACE, true).decode(doc(LATIN1), counters));
    }

    @Test
    void anotherEncodingDecodesWhatUtf8Cannot() throws DataException {
        TextDecoder latin1 = new TextDecoder(new ReadSettings(StandardCharsets.ISO_8859_1, OnInvalid.FAIL, false,
                "text", 1024, 1024));
        assertEquals("line one\nline two café\n", latin1.decode(doc(LATIN1), counters));
        TextDecoder cp1252 = new TextDecoder(new ReadSettings(Charset.forName("windows-1252"), OnInvalid.FAIL, false,
                "text", 1024, 1024));
        assertEquals("\u201Cquoted\u201D", cp1252.decode(doc(new byte[] {(byte) 0x93, 'q', 'u', 'o', 't', 'e', 'd',
            (byte) 0x94}), counters));
    }

    @Test
    void utf16IsRefusedAsNotAsciiCompatible() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new ReadSettings(
                StandardCharsets.UTF_16, OnInvalid.FAIL, false, "text", 1024, 1024));
        assertTrue(e.getMessage().contains("not ASCII-compatible"), e.getMessage());
    }

    @Test
    void utf8ValidatorAgreesWithTheJdk() {
        byte[][] cases = {
            {(byte) 0xC0, (byte) 0x80}, // overlong NUL
            {(byte) 0xED, (byte) 0xA0, (byte) 0x80}, // surrogate
            {(byte) 0xF4, (byte) 0x90, (byte) 0x80, (byte) 0x80}, // above U+10FFFF
            {(byte) 0xE2, (byte) 0x82, (byte) 0xAC}, // euro sign
            {(byte) 0xF0, (byte) 0x9F, (byte) 0x8E, (byte) 0xAD}, // emoji
            {(byte) 0x80},
        };
        for (byte[] c : cases) {
            boolean jdk = new String(c, StandardCharsets.UTF_8).getBytes(StandardCharsets.UTF_8).length == c.length
                    && !new String(c, StandardCharsets.UTF_8).contains("\uFFFD");
            assertEquals(jdk, Utf8.isValid(c), java.util.Arrays.toString(c));
        }
    }

    private static TextDecoder decoder(OnInvalid policy, boolean strict) {
        return new TextDecoder(new ReadSettings(StandardCharsets.UTF_8, policy, strict, "text", 1024, 1024));
    }

    private static RawDocument doc(byte[] bytes) {
        return new RawDocument(FILE, "book.txt#0", 10, bytes);
    }
}
