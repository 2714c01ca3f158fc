package io.troupe.data.corpus;

import io.troupe.data.DataException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;

/**
 * A UTF-8 text file read whole into memory, checked to be text before anyone tokenizes it.
 *
 * <p>Rejects, with a one-line message naming the file and the fix: a missing file, a
 * directory, an empty file, a file with a NUL byte (the sure sign of a binary file: UTF-8 text
 * never contains one) and a file that is not valid UTF-8. A leading UTF-8 byte order mark is
 * dropped, so an editor's BOM does not become a token.
 *
 * @param path the file the text came from
 * @param text the decoded text, never empty
 */
public record TextCorpus(Path path, String text) {

    // A Java String holds at most about 2^31 chars; bigger corpora go through token shards.
    private static final long MAX_BYTES = Integer.MAX_VALUE - 8;

    /** Validates the components; {@link #load(Path)} is the usual way to make one. */
    public TextCorpus {
        if (text.isEmpty()) {
            throw new IllegalArgumentException("corpus " + path + " has no text");
        }
    }

    /**
     * Reads and validates a UTF-8 text file.
     *
     * @throws DataException if the file is missing, unreadable, empty, binary or not UTF-8
     */
    public static TextCorpus load(Path path) throws DataException {
        return load(path, null);
    }

    /**
     * Reads and validates a UTF-8 text file, feeding its bytes, as they are on disk, to
     * {@code digest} (so a caller that fingerprints the file does not read it twice).
     *
     * @param digest receives the file's bytes, or null
     * @throws DataException if the file is missing, unreadable, empty, binary or not UTF-8
     */
    public static TextCorpus load(Path path, MessageDigest digest) throws DataException {
        if (Files.isDirectory(path)) {
            throw new DataException("corpus " + path + " is a directory; pass the path of a UTF-8"
                    + " text file such as data/tinyshakespeare/input.txt");
        }
        if (!Files.exists(path)) {
            throw new DataException("corpus " + path + " does not exist; pass the path of a UTF-8"
                    + " text file such as data/tinyshakespeare/input.txt");
        }
        byte[] bytes = readAll(path);
        if (digest != null) {
            digest.update(bytes);
        }
        if (bytes.length == 0) {
            throw new DataException("corpus " + path + " is empty; pass a UTF-8 text file with"
                    + " the text to train on");
        }
        for (int i = 0; i < bytes.length; i++) {
            if (bytes[i] == 0) {
                throw new DataException("corpus " + path + " contains a NUL byte at offset " + i
                        + ", so it looks like a binary file; pass a UTF-8 text file");
            }
        }
        String text = decodeUtf8(path, bytes);
        if (text.startsWith("\uFEFF")) {
            text = text.substring(1);
        }
        if (text.isEmpty()) {
            throw new DataException("corpus " + path + " holds only a byte order mark; pass a"
                    + " UTF-8 text file with the text to train on");
        }
        return new TextCorpus(path, text);
    }

    private static byte[] readAll(Path path) throws DataException {
        try {
            long size = Files.size(path);
            if (size > MAX_BYTES) {
                throw new DataException("corpus " + path + " has " + size + " bytes, more than"
                        + " the " + MAX_BYTES + " a single text corpus can hold; split it into"
                        + " several files");
            }
            return Files.readAllBytes(path);
        } catch (IOException e) {
            throw new DataException("cannot read corpus " + path + ": " + e
                    + "; check the file's permissions", e);
        }
    }

    private static String decodeUtf8(Path path, byte[] bytes) throws DataException {
        // REPORT instead of the default REPLACE: a silently substituted U+FFFD would become a
        // token and hide that the file is in another encoding.
        CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes);
        CharBuffer out = CharBuffer.allocate(bytes.length);
        CoderResult result = decoder.decode(in, out, true);
        if (result.isUnderflow()) {
            result = decoder.flush(out);
        }
        if (result.isError()) {
            throw new DataException("corpus " + path + " is not valid UTF-8 (bad byte sequence at"
                    + " offset " + in.position() + "); convert it to UTF-8, e.g. with"
                    + " iconv -f LATIN1 -t UTF-8");
        }
        return out.flip().toString();
    }
}
