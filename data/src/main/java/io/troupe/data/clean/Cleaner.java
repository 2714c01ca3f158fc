package io.troupe.data.clean;

import io.troupe.data.report.Counters;
import java.util.ArrayList;
import java.util.List;

/**
 * Cleans one document: the enabled transforms in a fixed order (line endings, Unicode
 * normalization, control characters, whitespace, lower-casing, long lines), then the enabled
 * filters (length, letters, repeated lines, word length). The first filter that rejects a
 * document counts it; later ones do not see it, so the report's funnel adds up.
 *
 * <p>Thread-safe: it holds only settings, and counts into thread-safe {@link Counters}.
 */
public final class Cleaner {

    private final List<TextTransform> transforms = new ArrayList<>();
    private final List<DocumentFilter> filters = new ArrayList<>();

    /** A cleaner with the steps {@code settings} enables. */
    public Cleaner(CleanSettings settings) {
        transforms.add(new LineEndings());
        if (settings.normalization() != Normalization.NONE) {
            transforms.add(new UnicodeNormalizer(settings.normalization()));
        }
        if (settings.removeControlChars()) {
            transforms.add(new ControlCharacters());
        }
        if (settings.normalizeWhitespace()) {
            transforms.add(new WhitespaceNormalizer());
        }
        if (settings.lowercase()) {
            transforms.add(new Lowercaser());
        }
        if (settings.maxLineChars() > 0) {
            transforms.add(new LongLineRemover(settings.maxLineChars()));
        }
        filters.add(new MinLengthFilter(settings.minDocChars()));
        if (settings.maxDocChars() > 0) {
            filters.add(new MaxLengthFilter(settings.maxDocChars()));
        }
        if (settings.minAlphaFraction() > 0) {
            filters.add(new AlphaFractionFilter(settings.minAlphaFraction()));
        }
        if (settings.maxDuplicateLineFraction() < 1) {
            filters.add(new RepeatedLinesFilter(settings.maxDuplicateLineFraction()));
        }
        if (settings.minMeanWordLength() > 0 || settings.maxMeanWordLength() > 0) {
            filters.add(new MeanWordLengthFilter(settings.minMeanWordLength(), settings.maxMeanWordLength()));
        }
    }

    /** The cleaned text, or null if a filter dropped the document. */
    public String clean(String text, Counters counters) {
        String out = text;
        for (TextTransform transform : transforms) {
            out = transform.apply(out, counters);
        }
        TextStats stats = TextStats.of(out);
        for (DocumentFilter filter : filters) {
            if (!filter.keep(stats)) {
                counters.increment(filter.counter());
                return null;
            }
        }
        return out;
    }
}
