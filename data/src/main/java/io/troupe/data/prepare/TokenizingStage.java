package io.troupe.data.prepare;

import io.troupe.data.tokenize.Tokenizer;
import java.util.ArrayList;
import java.util.List;

/**
 * The parallel part of tokenization: each document's ids followed by the document separator,
 * the tokenizer's end-of-text token or, for a tokenizer without one (char), the encoding of a
 * blank line. Stateless; tokenizers are thread-safe.
 */
final class TokenizingStage {

    /** What ends a document when the tokenizer has no end-of-text token. */
    static final String TEXT_SEPARATOR = "\n\n";

    private final Tokenizer tokenizer;
    private final int[] separator;

    TokenizingStage(Tokenizer tokenizer) {
        this.tokenizer = tokenizer;
        this.separator = tokenizer.endOfTextId().isPresent()
                ? new int[] {tokenizer.endOfTextId().getAsInt()}
                : tokenizer.encode(TEXT_SEPARATOR);
    }

    List<TokenizedDocument> process(List<KeptDocument> batch) {
        List<TokenizedDocument> out = new ArrayList<>(batch.size());
        for (KeptDocument doc : batch) {
            int[] ids = tokenizer.encode(doc.text());
            int[] all = java.util.Arrays.copyOf(ids, ids.length + separator.length);
            System.arraycopy(separator, 0, all, ids.length, separator.length);
            out.add(new TokenizedDocument(doc.split(), all, doc.text().length()));
        }
        return out;
    }
}
