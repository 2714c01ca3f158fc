package io.troupe.data.ingest;

import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;

/**
 * How input files are read and cut into documents.
 *
 * @param encoding the character encoding of every file; ASCII-compatible
 * @param onInvalid what to do with bytes invalid in {@code encoding}
 * @param strict fail on binary files, unreadable files, malformed JSONL lines and invalid bytes
 *     instead of counting and skipping them
 * @param textField the JSONL field that holds a document's text
 * @param textDocumentBytes plain-text files are cut into documents of at most this many bytes
 * @param maxJsonlLineBytes longer JSONL lines are malformed
 */
public record ReadSettings(Charset encoding, OnInvalid onInvalid, boolean strict, String textField,
        int textDocumentBytes, int maxJsonlLineBytes) {

    /** Validates the components. */
    public ReadSettings {
        if (!isAsciiCompatible(encoding)) {
            throw new IllegalArgumentException("encoding " + encoding.name() + " is not ASCII-compatible"
                    + " (newlines are not single 0x0A bytes); convert the files to UTF-8 first");
        }
        if (textDocumentBytes < 64 || maxJsonlLineBytes < 64) {
            throw new IllegalArgumentException("document and line limits must be at least 64 bytes");
        }
        if (textField.isEmpty()) {
            throw new IllegalArgumentException("text_field must not be empty");
        }
    }

    /** The effective policy for invalid bytes: strict turns every policy into FAIL. */
    public OnInvalid invalidPolicy() {
        return strict ? OnInvalid.FAIL : onInvalid;
    }

    private static boolean isAsciiCompatible(Charset charset) {
        if (!charset.canEncode()) {
            return false;
        }
        byte[] probe = "\n\r az{}\"".getBytes(charset);
        return new String(probe, StandardCharsets.US_ASCII).equals("\n\r az{}\"");
    }
}
