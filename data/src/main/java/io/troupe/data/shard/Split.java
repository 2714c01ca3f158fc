package io.troupe.data.shard;

import java.util.Locale;

/** The two parts of a prepared dataset. */
public enum Split {
    /** Sampled for training. */
    TRAIN,
    /** Held out to estimate validation loss. */
    VAL;

    /** The lower-case name used for directories and in the manifest: "train", "val". */
    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The split named {@code id}, or null. */
    public static Split fromId(String id) {
        for (Split s : values()) {
            if (s.id().equals(id)) {
                return s;
            }
        }
        return null;
    }
}
