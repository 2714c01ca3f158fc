package io.troupe.data.prepare;

import io.troupe.data.DataException;
import io.troupe.data.clean.Cleaner;
import io.troupe.data.dedup.Fingerprinter;
import io.troupe.data.ingest.Ingested;
import io.troupe.data.ingest.InputFile;
import io.troupe.data.ingest.JsonlText;
import io.troupe.data.ingest.RawDocument;
import io.troupe.data.ingest.ReadSettings;
import io.troupe.data.ingest.SkippedInput;
import io.troupe.data.ingest.TextDecoder;
import io.troupe.data.report.Counter;
import io.troupe.data.report.Counters;
import java.util.ArrayList;
import java.util.List;

/**
 * The parallel part of cleaning, run on worker threads one batch at a time: decode, pull the
 * text out of JSONL, clean and filter, fingerprint for dedup, and pick the split. Skipped inputs
 * are counted here, or fail the run in strict mode. Stateless apart from the thread-safe
 * counters, so any number of batches can run at once.
 */
final class CleaningStage {

    private final ReadSettings read;
    private final TextDecoder decoder;
    private final Cleaner cleaner;
    private final Fingerprinter fingerprinter;
    private final SplitAssigner splits;
    private final Counters counters;

    CleaningStage(PrepareSettings settings, Fingerprinter fingerprinter, Counters counters) {
        this.read = settings.read();
        this.decoder = new TextDecoder(settings.read());
        this.cleaner = new Cleaner(settings.clean());
        this.fingerprinter = fingerprinter;
        this.splits = new SplitAssigner(settings.split().valFraction(), settings.split().seed());
        this.counters = counters;
    }

    /** Cleans a batch; the result keeps the batch's order and leaves out dropped documents. */
    List<CleanDocument> process(List<Ingested> batch) {
        List<CleanDocument> out = new ArrayList<>(batch.size());
        for (Ingested item : batch) {
            // A DataException fails the stream; Pipeline.await gives it back to the caller as it was.
            CleanDocument doc = item instanceof RawDocument raw ? clean(raw) : skip((SkippedInput) item);
            if (doc != null) {
                out.add(doc);
            }
        }
        return out;
    }

    private CleanDocument skip(SkippedInput skipped) throws DataException {
        if (read.strict()) {
            throw new DataException(skipped.describe() + " (strict mode)");
        }
        counters.increment(switch (skipped.reason()) {
            case BINARY_FILE -> Counter.FILES_BINARY;
            case UNREADABLE_FILE -> Counter.FILES_UNREADABLE;
            case LINE_TOO_LONG -> Counter.JSONL_LINES_TOO_LONG;
        });
        return null;
    }

    private CleanDocument clean(RawDocument raw) throws DataException {
        counters.increment(Counter.DOCS_READ);
        String text = decoder.decode(raw, counters);
        if (text == null) {
            return null;
        }
        if (raw.file().format() == InputFile.Format.JSONL) {
            JsonlText.Result json = JsonlText.extract(text, read.textField());
            if (json.text() == null) {
                if (read.strict()) {
                    throw new DataException(raw.file().path() + ":" + raw.line() + ": malformed JSONL line: "
                            + json.problem() + " (strict mode)");
                }
                counters.increment(Counter.JSONL_MALFORMED);
                return null;
            }
            text = json.text();
        }
        String cleaned = cleaner.clean(text, counters);
        if (cleaned == null) {
            return null;
        }
        return new CleanDocument(raw.id(), cleaned, splits.assign(raw.id()), utf8Length(cleaned),
                fingerprinter.of(cleaned));
    }

    static long utf8Length(String s) {
        long n = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x80) {
                n++;
            } else if (c < 0x800) {
                n += 2;
            } else if (Character.isHighSurrogate(c) && i + 1 < s.length()
                    && Character.isLowSurrogate(s.charAt(i + 1))) {
                n += 4;
                i++;
            } else {
                n += 3;
            }
        }
        return n;
    }
}
