package io.troupe.data.labelled;

/**
 * One text with its class.
 *
 * @param text the text as read (a TSV row's text column, a JSONL row's {@code text} field),
 *     never blank
 * @param label the class index in the {@link LabelSet} of the data it belongs to
 * @param origin where it was read, {@code file:line}, for messages
 */
public record LabelledExample(String text, int label, String origin) {

    /** Checks the fields. */
    public LabelledExample {
        if (text == null || text.isBlank()) {
            throw new IllegalArgumentException("an example needs a non-blank text (" + origin + ")");
        }
        if (label < 0) {
            throw new IllegalArgumentException("label index " + label + " < 0 (" + origin + ")");
        }
    }
}
