package io.troupe.data.tokenize;

/**
 * GPT-2's byte-to-character table ({@code bytes_to_unicode} in its encoder): each of the 256
 * bytes is one printable character, so a Hugging Face byte-level vocabulary can store tokens as
 * strings. Printable Latin-1 bytes stand for themselves; the other 68 (control characters,
 * space, soft hyphen, ...) are moved to U+0100 onwards in byte order (space is {@code Ġ}).
 */
final class ByteLevelAlphabet {
    private static final char[] CHAR_OF_BYTE = new char[256];
    private static final int[] BYTE_OF_CHAR = new int[512];

    static {
        java.util.Arrays.fill(BYTE_OF_CHAR, -1);
        int moved = 0;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            char c = printable ? (char) b : (char) (256 + moved++);
            CHAR_OF_BYTE[b] = c;
            BYTE_OF_CHAR[c] = b;
        }
    }

    private ByteLevelAlphabet() {
    }

    /** The character byte {@code b} (0-255) is written as. */
    static char charOf(int b) {
        return CHAR_OF_BYTE[b & 0xff];
    }

    /** The byte character {@code c} stands for, or -1 if it is not in the alphabet. */
    static int byteOf(char c) {
        return c < BYTE_OF_CHAR.length ? BYTE_OF_CHAR[c] : -1;
    }

    /** {@code bytes}, one alphabet character each. */
    static String encode(byte[] bytes) {
        char[] chars = new char[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            chars[i] = charOf(bytes[i]);
        }
        return new String(chars);
    }
}
