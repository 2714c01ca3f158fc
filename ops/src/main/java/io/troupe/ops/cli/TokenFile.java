package io.troupe.ops.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;

/**
 * A secret token read from a file (its first line, trimmed), for endpoints that bind beyond
 * loopback. Compared in constant time, so response times do not leak how much of a guess was right.
 */
final class TokenFile {
    private final byte[] token;

    private TokenFile(byte[] token) {
        this.token = token;
    }

    /**
     * Reads the token of {@code file}; {@code option} names the flag in errors.
     *
     * @throws UserError if the file cannot be read or holds no token
     */
    static TokenFile read(Path file, String option) {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw UserError.inputData(option + " " + file + " cannot be read (" + e.getMessage()
                    + "); give a file that holds the token on its first line");
        }
        String first = text.lines().findFirst().orElse("").trim();
        if (first.length() < 16) {
            throw UserError.inputData(option + " " + file + " must hold a token of at least 16 characters on its first"
                    + " line (for example: openssl rand -hex 24 > " + file + ")");
        }
        return new TokenFile(first.getBytes(StandardCharsets.UTF_8));
    }

    /** True if the {@code Authorization} header value is {@code Bearer <token>}. */
    boolean acceptsBearer(String authorization) {
        if (authorization == null || !authorization.startsWith("Bearer ")) {
            return false;
        }
        return matches(authorization.substring("Bearer ".length()).trim());
    }

    /** True if {@code candidate} is the token. */
    boolean matches(String candidate) {
        return candidate != null && MessageDigest.isEqual(token, candidate.getBytes(StandardCharsets.UTF_8));
    }

    /** The token itself, for a server that compares it on its own (still with {@link MessageDigest#isEqual}). */
    String value() {
        return new String(token, StandardCharsets.UTF_8);
    }
}
