package io.troupe.data.ingest;

import io.troupe.data.DataException;
import io.troupe.data.report.Counter;
import io.troupe.data.report.Counters;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * Decodes a document's bytes in the input encoding, applying the invalid-bytes policy and
 * counting what it finds. A leading byte order mark is dropped. Thread-safe (a decoder per call).
 */
public final class TextDecoder {

    private final ReadSettings settings;
    private final boolean utf8;

    /** A decoder for {@code settings.encoding()} with {@code settings.invalidPolicy()}. */
    public TextDecoder(ReadSettings settings) {
        this.settings = settings;
        this.utf8 = settings.encoding().equals(StandardCharsets.UTF_8);
    }

    /**
     * Decodes a document.
     *
     * @return the text, or null if the document is dropped for invalid bytes (policy SKIP)
     * @throws DataException naming file and line, for invalid bytes under policy FAIL
     */
    public String decode(RawDocument doc, Counters counters) throws DataException {
        byte[] bytes = doc.bytes();
        String text;
        if (utf8 && Utf8.isValid(bytes)) {
            // The common case: the JDK's own decoder has a fast path for valid (mostly ASCII) input.
            text = new String(bytes, StandardCharsets.UTF_8);
        } else {
            text = decodeSlowly(doc, counters);
            if (text == null) {
                return null;
            }
        }
        return text.startsWith("\uFEFF") ? text.substring(1) : text;
    }

    private String decodeSlowly(RawDocument doc, Counters counters) throws DataException {
        byte[] bytes = doc.bytes();
        CharsetDecoder decoder = settings.encoding().newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes);
        CharBuffer out = CharBuffer.allocate((int) Math.min(Integer.MAX_VALUE - 16,
                (long) (bytes.length * (double) decoder.maxCharsPerByte()) + 16));
        int invalid = 0;
        while (true) {
            CoderResult result = decoder.decode(in, out, true);
            if (result.isUnderflow()) {
                break;
            }
            if (result.isOverflow()) {
                out = grow(out);
                continue;
            }
            if (invalid == 0) {
                failOrCount(doc, in.position(), counters);
            }
            invalid++;
            if (settings.invalidPolicy() == OnInvalid.SKIP) {
                counters.add(Counter.INVALID_ENCODING_SEQUENCES, 1);
                counters.increment(Counter.INVALID_ENCODING_DROPPED);
                return null;
            }
            if (!out.hasRemaining()) {
                out = grow(out);
            }
            out.put('\uFFFD');
            in.position(in.position() + result.length());
        }
        while (decoder.flush(out).isOverflow()) {
            out = grow(out);
        }
        if (invalid > 0) {
            counters.add(Counter.INVALID_ENCODING_SEQUENCES, invalid);
        }
        return out.flip().toString();
    }

    private static CharBuffer grow(CharBuffer out) {
        CharBuffer bigger = CharBuffer.allocate(out.capacity() * 2 + 16);
        out.flip();
        return bigger.put(out);
    }

    /** Called at a document's first invalid sequence: counts it, or fails under policy FAIL. */
    private void failOrCount(RawDocument doc, int offset, Counters counters) throws DataException {
        if (settings.invalidPolicy() == OnInvalid.FAIL) {
            long line = doc.line();
            for (int i = 0; i < offset; i++) {
                if (doc.bytes()[i] == '\n') {
                    line++;
                }
            }
            throw new DataException(doc.file().path() + ":" + line + ": invalid " + settings.encoding().name()
                    + " (byte 0x" + String.format("%02X", doc.bytes()[offset] & 0xFF) + "); pass"
                    + " --encoding with the file's real encoding (e.g. windows-1252), or"
                    + " --on-invalid=replace or skip" + (settings.strict() ? " without --strict" : ""));
        }
        counters.increment(Counter.INVALID_ENCODING_DOCS);
    }
}
