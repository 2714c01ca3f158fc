package io.troupe.data.pairs;

import io.troupe.data.DataException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * A train/val/test split of sentence pairs by the MD5 of one side's text, written
 * {@code hash-LANG:TRAIN/VAL/TEST} (e.g. {@code hash-en:90/5/5}). A pair goes to bucket
 * {@code int(md5(side).hexdigest(), 16) % 100}: the first TRAIN buckets are train, the next VAL
 * val, the rest test. All translations of one sentence share its hash, so alternate translations
 * never straddle splits; and the rule is the data README's Python one, so the same split can be
 * rebuilt outside Troupe.
 *
 * @param language the language whose side is hashed, e.g. {@code en}
 * @param train percent of buckets in train
 * @param val percent in val
 * @param test percent in test
 */
public record HashSplit(String language, int train, int val, int test) {

    private static final BigInteger HUNDRED = BigInteger.valueOf(100);

    /** The three splits, in the order of their buckets. */
    public enum Part {
        TRAIN, VAL, TEST;

        /** The directory and manifest name: train, val, test. */
        public String id() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /**
     * Parses {@code hash-LANG:TRAIN/VAL/TEST}.
     *
     * @throws DataException (a usage error) naming what is wrong: the form, a percentage, or a
     *     sum other than 100
     */
    public static HashSplit parse(String spec) throws DataException {
        String form = "; use hash-LANG:TRAIN/VAL/TEST, e.g. hash-en:90/5/5";
        if (spec == null || !spec.startsWith("hash-") || spec.indexOf(':') < 0) {
            throw DataException.config("--split '" + spec + "' is not a hash split" + form);
        }
        String language = spec.substring("hash-".length(), spec.indexOf(':'));
        if (!language.matches("[A-Za-z][A-Za-z0-9_-]*")) {
            throw DataException.config("--split '" + spec + "' names no language to hash" + form);
        }
        String[] parts = spec.substring(spec.indexOf(':') + 1).split("/", -1);
        if (parts.length != 3) {
            throw DataException.config("--split '" + spec + "' needs three percentages" + form);
        }
        int[] p = new int[3];
        for (int i = 0; i < 3; i++) {
            try {
                p[i] = Integer.parseInt(parts[i].trim());
            } catch (NumberFormatException e) {
                throw DataException.config("--split '" + spec + "': '" + parts[i] + "' is not a whole percentage" + form);
            }
            if (p[i] < 0) {
                throw DataException.config("--split '" + spec + "': percentages cannot be negative" + form);
            }
        }
        if (p[0] + p[1] + p[2] != 100) {
            throw DataException.config("--split '" + spec + "': the percentages sum to " + (p[0] + p[1] + p[2])
                    + ", not 100" + form);
        }
        if (p[0] == 0) {
            throw DataException.config("--split '" + spec + "': train needs a share above 0" + form);
        }
        return new HashSplit(language, p[0], p[1], p[2]);
    }

    /** The bucket of {@code text}: {@code int(md5(utf8).hexdigest(), 16) % 100}. */
    public static int bucket(String text) {
        try {
            byte[] digest = MessageDigest.getInstance("MD5").digest(text.getBytes(StandardCharsets.UTF_8));
            return new BigInteger(1, digest).mod(HUNDRED).intValue();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java has MD5", e);
        }
    }

    /** The split of a pair whose hashed side is {@code text}. */
    public Part partOf(String text) {
        int b = bucket(text);
        return b < train ? Part.TRAIN : b < train + val ? Part.VAL : Part.TEST;
    }

    @Override
    public String toString() {
        return "hash-" + language + ":" + train + "/" + val + "/" + test;
    }
}
