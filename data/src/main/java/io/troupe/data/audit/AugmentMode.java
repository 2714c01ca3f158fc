package io.troupe.data.audit;

import io.troupe.data.DataException;
import io.troupe.errors.TroupeException;
import java.util.Locale;

/** What {@code prepare --augment} does with train documents that hold gendered terms. */
public enum AugmentMode {
    /** Nothing: the documents are written as read. */
    NONE,
    /** Each such document is written, and after it a copy with the terms swapped. */
    CDA,
    /** Each such document is written with its terms swapped, instead of as read. */
    CDA_REPLACE;

    /** The command-line name: {@code none}, {@code cda}, {@code cda-replace}. */
    public String id() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    /**
     * Parses a command-line name.
     *
     * @throws DataException (a usage error) naming the modes, for any other name
     */
    public static AugmentMode parse(String id) throws DataException {
        for (AugmentMode m : values()) {
            if (m.id().equals(id)) {
                return m;
            }
        }
        throw new DataException(TroupeException.Kind.USAGE, "--augment must be cda or cda-replace, got '"
                + id + "'", null);
    }
}
