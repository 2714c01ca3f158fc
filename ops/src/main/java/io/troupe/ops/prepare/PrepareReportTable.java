package io.troupe.ops.prepare;

import io.troupe.data.prepare.PrepareReport;
import io.troupe.data.prepare.PrepareResult;
import io.troupe.data.report.Counter;
import java.io.PrintWriter;

/** Prints a prepare report as a table: the document funnel, then what cleaning changed, then totals. */
public final class PrepareReportTable {

    private PrepareReportTable() {
    }

    /** Prints {@code result}'s report to {@code out}. */
    public static void print(PrintWriter out, PrepareResult result) {
        PrepareReport r = result.report();
        out.printf("%-22s %12s %12s %12s%n", "documents", "in", "out", "removed");
        out.printf("%-22s %12s %,12d%n", "read", "", r.count(Counter.DOCS_READ));
        for (PrepareReport.FunnelStep step : r.funnel()) {
            out.printf("%-22s %,12d %,12d %,12d%n", step.name(), step.in(), step.out(), step.removed());
        }
        out.printf("%-22s %12s %,12d   (train %,d, val %,d)%n", "kept", "", r.keptDocuments(),
                r.count(Counter.DOCS_TRAIN), r.count(Counter.DOCS_VAL));
        out.println();
        out.printf("files: %,d read, %,d binary (skipped), %,d unreadable (skipped), %,d ignored for their extension;"
                        + " %,d JSONL lines too long%n",
                r.count(Counter.FILES), r.count(Counter.FILES_BINARY), r.count(Counter.FILES_UNREADABLE),
                r.count(Counter.FILES_UNSUPPORTED), r.count(Counter.JSONL_LINES_TOO_LONG));
        out.printf("encoding: %,d documents with invalid bytes (%,d sequences), %,d of them dropped%n",
                r.count(Counter.INVALID_ENCODING_DOCS), r.count(Counter.INVALID_ENCODING_SEQUENCES),
                r.count(Counter.INVALID_ENCODING_DROPPED));
        out.printf("cleaning (documents changed): line endings %,d, unicode %,d, control chars %,d (%,d chars),"
                        + " whitespace %,d, lowercase %,d, long lines %,d (%,d lines)%n",
                r.count(Counter.LINE_ENDINGS_DOCS), r.count(Counter.UNICODE_DOCS), r.count(Counter.CONTROL_DOCS),
                r.count(Counter.CONTROL_CHARS), r.count(Counter.WHITESPACE_DOCS), r.count(Counter.LOWERCASE_DOCS),
                r.count(Counter.LONG_LINE_DOCS), r.count(Counter.LONG_LINES));
        out.printf("dedup: %,d exact, %,d near (LSH %d bands x %d rows), index %.1f MiB%s%n",
                r.count(Counter.EXACT_DUPLICATES), r.count(Counter.NEAR_DUPLICATES), r.lsh().bands(), r.lsh().rows(),
                r.dedupIndexBytes() / 1048576.0, r.count(Counter.DEDUP_NOT_INDEXED) > 0
                        ? String.format(", FULL: %,d documents not indexed (raise dedup_index_mib)",
                                r.count(Counter.DEDUP_NOT_INDEXED)) : "");
        out.printf("tokens: %,d train, %,d val; %s vocabulary %,d; %.2f bytes/token%n",
                r.count(Counter.TOKENS_TRAIN), r.count(Counter.TOKENS_VAL), result.manifest().tokenizer(),
                r.vocabSize(), r.bytesPerToken());
        out.printf("time: %.1f s (tokenizer %.1f s), %.1f MB/s, %,.0f docs/s, %d threads; peak heap %.0f MiB of %.0f MiB%n",
                r.seconds(), r.tokenizerSeconds(), r.megabytesPerSecond(), r.documentsPerSecond(), r.threads(),
                r.peakHeapBytes() / 1048576.0, r.maxHeapBytes() / 1048576.0);
        out.printf("dataset: %s (%d shards)%n", result.directory(), result.manifest().shards().size());
        out.flush();
    }
}
