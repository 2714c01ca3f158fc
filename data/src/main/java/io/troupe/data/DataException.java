package io.troupe.data;

/**
 * A corpus, tokenizer file or token split that cannot be used as given.
 *
 * <p>The one checked exception at the data boundary. Its message is a single line that names
 * the file or setting at fault and what to do about it, so a command line can print it as is.
 */
public final class DataException extends Exception {

    /** Creates an exception whose message names the problem and the fix. */
    public DataException(String message) {
        super(message);
    }

    /** Creates an exception whose message names the problem and the fix, keeping the I/O cause. */
    public DataException(String message, Throwable cause) {
        super(message, cause);
    }
}
