package io.troupe.data;

import io.troupe.errors.TroupeException;

/**
 * A corpus, tokenizer file or token split that cannot be used as given.
 *
 * <p>The one exception at the data boundary. Its message is a single line that names the file
 * or setting at fault and what to do about it, so a command line can print it as is. Its kind is
 * {@link Kind#INPUT_DATA} unless the constructor says otherwise (a prepare setting is
 * {@link Kind#CONFIG}, an output directory that cannot be written is {@link Kind#IO}).
 */
public final class DataException extends TroupeException {

    private static final long serialVersionUID = 1L;

    /** Unusable input data; the message names the problem and the fix. */
    public DataException(String message) {
        super(Kind.INPUT_DATA, message);
    }

    /** Unusable input data; the message names the problem and the fix, keeping the I/O cause. */
    public DataException(String message, Throwable cause) {
        super(Kind.INPUT_DATA, message, cause);
    }

    /** A data failure of another kind than unusable input (a setting, an output directory). */
    public DataException(Kind kind, String message, Throwable cause) {
        super(kind, message, cause);
    }

    /** A prepare setting that is unknown, malformed or out of range. */
    public static DataException config(String message) {
        return new DataException(Kind.CONFIG, message, null);
    }

    /** A prepare setting that is unknown, malformed or out of range, with the parser's error. */
    public static DataException config(String message, Throwable cause) {
        return new DataException(Kind.CONFIG, message, cause);
    }

    /** A directory or file Troupe writes that cannot be written. */
    public static DataException io(String message, Throwable cause) {
        return new DataException(Kind.IO, message, cause);
    }
}
