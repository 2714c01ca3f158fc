package io.troupe.data.clean;

import java.text.Normalizer;

/** The Unicode normalization form applied to every document. */
public enum Normalization {
    /** Canonical composition: "e" + U+0301 becomes "é"; what text usually means. */
    NFC(Normalizer.Form.NFC, 0x300),
    /** Compatibility composition: also folds ligatures, full-width forms, superscripts ("ﬁ" to "fi"). */
    NFKC(Normalizer.Form.NFKC, 0xA0),
    /** Leave text as it is. */
    NONE(null, Integer.MAX_VALUE);

    private final Normalizer.Form form;
    private final int stableBelow;

    Normalization(Normalizer.Form form, int stableBelow) {
        this.form = form;
        this.stableBelow = stableBelow;
    }

    /** The JDK form, or null for NONE. */
    Normalizer.Form form() {
        return form;
    }

    /**
     * Characters below this are unchanged by the form and never combine with what follows (the
     * Unicode quick-check property), so text made only of them needs no normalization pass.
     */
    int stableBelow() {
        return stableBelow;
    }
}
