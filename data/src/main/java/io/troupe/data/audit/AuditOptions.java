package io.troupe.data.audit;

/**
 * The responsible-data options of a prepare run.
 *
 * @param writeReport write {@code audit.json} and {@code audit.html} (the manifest always gets the summary)
 * @param terms the gendered word pairs, male first
 * @param termsSource where {@code terms} came from, for the report
 * @param augment counterfactual augmentation of the train split
 * @param names first-name pairs to swap too when augmenting, or null
 */
public record AuditOptions(boolean writeReport, WordPairs terms, String termsSource, AugmentMode augment,
        WordPairs names) {

    /** The default: no report files, the built-in word list, no augmentation. */
    public static AuditOptions defaults() {
        return new AuditOptions(false, WordPairs.gendered(), "built-in " + WordPairs.GENDERED_RESOURCE, AugmentMode.NONE,
                null);
    }
}
