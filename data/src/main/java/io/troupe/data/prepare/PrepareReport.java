package io.troupe.data.prepare;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.troupe.data.dedup.LshParameters;
import io.troupe.data.report.Counter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What a prepare run did: every count, the document funnel (documents in and out of each
 * filter), throughput and memory. Written into the manifest and printed as a table.
 *
 * @param counts every counter
 * @param seconds wall time of the run
 * @param tokenizerSeconds time spent building the tokenizer (BPE training; 0 for gpt2)
 * @param peakHeapBytes the most heap in use at once (sum of the heap pools' peaks: an upper bound)
 * @param maxHeapBytes the heap limit (-Xmx)
 * @param threads worker threads
 * @param lsh the LSH bands and rows used for near dedup
 * @param dedupIndexBytes memory the dedup index ended up using
 * @param vocabSize the tokenizer's vocabulary
 */
public record PrepareReport(Map<Counter, Long> counts, double seconds, double tokenizerSeconds,
        long peakHeapBytes, long maxHeapBytes, int threads, LshParameters lsh, long dedupIndexBytes,
        int vocabSize) {

    /**
     * One filter of the funnel.
     *
     * @param name what it removes
     * @param in documents that reached it
     * @param out documents that passed it
     */
    public record FunnelStep(String name, long in, long out) {
        /** Documents it removed. */
        public long removed() {
            return in - out;
        }
    }

    /** The count of one counter. */
    public long count(Counter counter) {
        return counts.getOrDefault(counter, 0L);
    }

    /** Documents read, then after each filter in the order they apply. */
    public List<FunnelStep> funnel() {
        List<FunnelStep> steps = new ArrayList<>();
        long n = count(Counter.DOCS_READ);
        Object[][] filters = {
            {"malformed JSONL", Counter.JSONL_MALFORMED},
            {"invalid encoding", Counter.INVALID_ENCODING_DROPPED},
            {"too short", Counter.FILTER_TOO_SHORT},
            {"too long", Counter.FILTER_TOO_LONG},
            {"few letters", Counter.FILTER_ALPHA},
            {"repeated lines", Counter.FILTER_REPEATED_LINES},
            {"mean word length", Counter.FILTER_WORD_LENGTH},
            {"exact duplicates", Counter.EXACT_DUPLICATES},
            {"near duplicates", Counter.NEAR_DUPLICATES},
        };
        for (Object[] f : filters) {
            long removed = count((Counter) f[1]);
            steps.add(new FunnelStep((String) f[0], n, n - removed));
            n -= removed;
        }
        return steps;
    }

    /** Documents kept, both splits. */
    public long keptDocuments() {
        return count(Counter.DOCS_TRAIN) + count(Counter.DOCS_VAL);
    }

    /** Tokens written, both splits. */
    public long tokens() {
        return count(Counter.TOKENS_TRAIN) + count(Counter.TOKENS_VAL);
    }

    /** UTF-8 bytes of kept text per token (separators count as tokens). */
    public double bytesPerToken() {
        long tokens = tokens();
        return tokens == 0 ? 0 : (count(Counter.TEXT_BYTES_TRAIN) + count(Counter.TEXT_BYTES_VAL)) / (double) tokens;
    }

    /** Input (on-disk) megabytes (10^6 bytes) per second of wall time. */
    public double megabytesPerSecond() {
        return seconds <= 0 ? 0 : count(Counter.INPUT_BYTES) / 1e6 / seconds;
    }

    /** Documents read per second of wall time. */
    public double documentsPerSecond() {
        return seconds <= 0 ? 0 : count(Counter.DOCS_READ) / seconds;
    }

    /** The report as JSON, for the manifest. */
    public JsonNode toJson(ObjectMapper mapper) {
        ObjectNode root = mapper.createObjectNode();
        ObjectNode files = root.putObject("files");
        files.put("read", count(Counter.FILES)).put("ignored_extension", count(Counter.FILES_UNSUPPORTED))
                .put("skipped_documentation", count(Counter.FILES_DOCUMENTATION))
                .put("excluded", count(Counter.FILES_EXCLUDED))
                .put("binary", count(Counter.FILES_BINARY)).put("unreadable", count(Counter.FILES_UNREADABLE))
                .put("bytes", count(Counter.INPUT_BYTES));
        ArrayNode funnel = root.putArray("filters");
        for (FunnelStep step : funnel()) {
            funnel.addObject().put("filter", step.name()).put("in", step.in()).put("out", step.out());
        }
        ObjectNode counters = root.putObject("counters");
        counts.forEach((c, n) -> counters.put(c.name().toLowerCase(Locale.ROOT), n));
        root.putObject("documents").put("train", count(Counter.DOCS_TRAIN)).put("val", count(Counter.DOCS_VAL));
        root.putObject("tokens").put("train", count(Counter.TOKENS_TRAIN)).put("val", count(Counter.TOKENS_VAL));
        root.put("bytes_per_token", round(bytesPerToken(), 3));
        root.putObject("lsh").put("bands", lsh.bands()).put("rows", lsh.rows());
        root.put("dedup_index_bytes", dedupIndexBytes);
        root.put("seconds", round(seconds, 3));
        root.put("tokenizer_seconds", round(tokenizerSeconds, 3));
        root.put("mb_per_second", round(megabytesPerSecond(), 2));
        root.put("documents_per_second", round(documentsPerSecond(), 1));
        root.put("threads", threads);
        root.put("peak_heap_bytes", peakHeapBytes);
        root.put("max_heap_bytes", maxHeapBytes);
        return root;
    }

    private static double round(double x, int digits) {
        double scale = Math.pow(10, digits);
        return Math.round(x * scale) / scale;
    }
}
