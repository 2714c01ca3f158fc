package io.troupe.data.synthetic;

import com.fasterxml.jackson.core.io.JsonStringEncoder;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.SplittableRandom;
import java.util.zip.GZIPOutputStream;

/**
 * Writes a synthetic corpus of any size for benchmarks and tests: pseudo-English documents
 * (words drawn from a Zipf distribution over a generated vocabulary, in sentences and
 * paragraphs), spread over {@code .jsonl}, {@code .jsonl.gz} and {@code .txt} files, with a known
 * share of exact duplicates, near duplicates (a few words changed) and junk documents (digits and
 * symbols, which the quality filters drop). The same seed always gives the same bytes.
 */
public final class SyntheticCorpus {

    /** Share of documents that repeat a recent one exactly. */
    public static final double EXACT_DUPLICATES = 0.02;
    /** Share of documents that repeat a recent one with about 2% of the words changed. */
    public static final double NEAR_DUPLICATES = 0.02;
    /** Share of documents that are junk: numbers and symbols. */
    public static final double JUNK = 0.01;

    private static final String[] SYLLABLES = {"a", "an", "ar", "be", "ca", "de", "di", "el", "en", "er", "fa",
        "go", "ha", "he", "in", "is", "ka", "la", "le", "li", "lo", "ma", "me", "mi", "mo", "na", "ne", "no", "or",
        "pa", "pe", "ra", "re", "ri", "ro", "sa", "se", "si", "so", "ta", "te", "th", "ti", "to", "un", "ve", "wa", "we"};
    private static final int VOCABULARY = 20_000;
    private static final int RECENT = 64;

    private final SplittableRandom random;
    private final String[] words;
    private final double[] cumulative;
    private final Deque<String> recent = new ArrayDeque<>();

    /**
     * What was written.
     *
     * @param files files written
     * @param documents documents written, duplicates and junk included
     * @param bytes bytes of text (before JSON escaping and compression)
     * @param exactDuplicates documents that repeat an earlier one
     * @param nearDuplicates documents that repeat an earlier one with changes
     * @param junk junk documents
     */
    public record Summary(int files, long documents, long bytes, long exactDuplicates, long nearDuplicates, long junk) {
    }

    private SyntheticCorpus(long seed) {
        this.random = new SplittableRandom(seed);
        this.words = new String[VOCABULARY];
        this.cumulative = new double[VOCABULARY];
        double sum = 0;
        for (int i = 0; i < VOCABULARY; i++) {
            StringBuilder w = new StringBuilder();
            int syllables = 1 + Math.min(4, (int) (Math.log(i + 2) / Math.log(8)) + random.nextInt(2));
            for (int s = 0; s < syllables; s++) {
                w.append(SYLLABLES[random.nextInt(SYLLABLES.length)]);
            }
            words[i] = w.toString();
            sum += 1 / Math.pow(i + 1, 1.07); // Zipf's law, as word frequencies in English
            cumulative[i] = sum;
        }
        for (int i = 0; i < VOCABULARY; i++) {
            cumulative[i] /= sum;
        }
    }

    /**
     * Writes about {@code totalBytes} of text into {@code dir}, in files of about {@code fileBytes}.
     *
     * @throws IOException if a file cannot be written
     */
    public static Summary write(Path dir, long totalBytes, long fileBytes, long seed) throws IOException {
        return new SyntheticCorpus(seed).writeAll(dir, totalBytes, fileBytes);
    }

    private Summary writeAll(Path dir, long totalBytes, long fileBytes) throws IOException {
        Files.createDirectories(dir);
        long bytes = 0;
        long documents = 0;
        long exact = 0;
        long near = 0;
        long junk = 0;
        int file = 0;
        JsonStringEncoder json = JsonStringEncoder.getInstance();
        while (bytes < totalBytes) {
            String[] kinds = {"jsonl", "jsonl.gz", "txt"};
            String kind = kinds[file % kinds.length];
            Path path = dir.resolve(String.format("part-%05d.%s", file, kind));
            OutputStream raw = Files.newOutputStream(path);
            OutputStream stream = kind.endsWith(".gz") ? new GZIPOutputStream(raw, 1 << 16) : raw;
            try (Writer out = new BufferedWriter(new OutputStreamWriter(stream, StandardCharsets.UTF_8), 1 << 16)) {
                long inFile = 0;
                while (inFile < fileBytes && bytes < totalBytes) {
                    double r = random.nextDouble();
                    String doc;
                    if (r < EXACT_DUPLICATES && !recent.isEmpty()) {
                        doc = pickRecent();
                        exact++;
                    } else if (r < EXACT_DUPLICATES + NEAR_DUPLICATES && !recent.isEmpty()) {
                        doc = perturb(pickRecent());
                        near++;
                    } else if (r < EXACT_DUPLICATES + NEAR_DUPLICATES + JUNK) {
                        doc = junk();
                        junk++;
                    } else {
                        doc = document();
                        remember(doc);
                    }
                    if (kind.startsWith("jsonl")) {
                        out.write("{\"id\":" + documents + ",\"text\":\"");
                        out.write(json.quoteAsString(doc));
                        out.write("\"}\n");
                    } else {
                        out.write(doc);
                        out.write("\n\n\n");
                    }
                    inFile += doc.length();
                    bytes += doc.length();
                    documents++;
                }
            }
            file++;
        }
        return new Summary(file, documents, bytes, exact, near, junk);
    }

    private String document() {
        StringBuilder doc = new StringBuilder();
        int paragraphs = 2 + random.nextInt(10);
        for (int p = 0; p < paragraphs; p++) {
            if (p > 0) {
                doc.append("\n\n");
            }
            int sentences = 2 + random.nextInt(7);
            for (int s = 0; s < sentences; s++) {
                if (s > 0) {
                    doc.append(' ');
                }
                sentence(doc);
            }
        }
        return doc.toString();
    }

    private void sentence(StringBuilder out) {
        int n = 5 + random.nextInt(20);
        for (int w = 0; w < n; w++) {
            String word = words[wordIndex()];
            if (w == 0) {
                out.append(Character.toUpperCase(word.charAt(0))).append(word, 1, word.length());
            } else {
                out.append(' ').append(word);
            }
            if (w < n - 1 && random.nextInt(12) == 0) {
                out.append(',');
            }
        }
        out.append(random.nextInt(10) == 0 ? '?' : '.');
    }

    private int wordIndex() {
        double u = random.nextDouble();
        int lo = 0;
        int hi = VOCABULARY - 1;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (cumulative[mid] < u) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo;
    }

    private String junk() {
        StringBuilder doc = new StringBuilder();
        int n = 200 + random.nextInt(800);
        for (int i = 0; i < n; i++) {
            doc.append(random.nextInt(10) == 0 ? ' ' : "0123456789#$%&*+-=/|"
                    .charAt(random.nextInt(20)));
        }
        return doc.toString();
    }

    private String perturb(String doc) {
        String[] tokens = doc.split(" ", -1);
        List<String> out = new ArrayList<>(tokens.length);
        for (String t : tokens) {
            out.add(random.nextInt(50) == 0 ? words[wordIndex()] : t);
        }
        return String.join(" ", out);
    }

    private String pickRecent() {
        int k = random.nextInt(recent.size());
        return recent.stream().skip(k).findFirst().orElseThrow();
    }

    private void remember(String doc) {
        recent.addLast(doc);
        if (recent.size() > RECENT) {
            recent.removeFirst();
        }
    }
}
