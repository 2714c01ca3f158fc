package io.troupe.model.io;

import io.troupe.errors.TroupeException;

/**
 * A model file Troupe was given (a safetensors file, a Hugging Face config.json, a model
 * directory) that is missing, corrupt, or describes a model Troupe cannot express.
 *
 * <p>Always {@link Kind#INPUT_DATA}: the message is one line naming the file, the problem and,
 * where there is one, the fix.
 */
public final class ModelFileException extends TroupeException {

    private static final long serialVersionUID = 1L;

    /** An unusable model file; the message names the file and the problem. */
    public ModelFileException(String message) {
        super(Kind.INPUT_DATA, message);
    }

    /** An unusable model file, keeping the I/O or parser failure behind it. */
    public ModelFileException(String message, Throwable cause) {
        super(Kind.INPUT_DATA, message, cause);
    }
}
