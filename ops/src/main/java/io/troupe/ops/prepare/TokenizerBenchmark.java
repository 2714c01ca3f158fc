package io.troupe.ops.prepare;

import io.troupe.data.DataException;
import io.troupe.data.ingest.InputFile;
import io.troupe.data.ingest.InputFiles;
import io.troupe.data.ingest.JsonlText;
import io.troupe.data.tokenize.BpeTokenizer;
import io.troupe.data.tokenize.BpeTrainer;
import io.troupe.data.tokenize.CharTokenizer;
import io.troupe.data.tokenize.Gpt2Tokenizer;
import io.troupe.data.tokenize.PieceCounts;
import io.troupe.data.tokenize.Tokenizer;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.zip.GZIPInputStream;

/**
 * Measures tokenizers on a corpus sample held in memory: how long building the tokenizer takes
 * (for bpe: counting pieces on all threads, then learning merges), and encoding throughput on one
 * thread and on all of them. Only encoding is timed, not reading, so the numbers isolate the
 * tokenizer; {@code troupe prepare} reports the whole pipeline.
 */
public final class TokenizerBenchmark {

    /**
     * One tokenizer's numbers.
     *
     * @param tokenizer char, gpt2 or bpe
     * @param vocabSize its vocabulary
     * @param buildSeconds time to build it from the sample (0 for gpt2)
     * @param countSeconds of which counting pieces (bpe)
     * @param bytes UTF-8 bytes encoded
     * @param tokens tokens produced
     * @param singleThreadMBps encoding throughput on one thread, MB (10^6 bytes) per second
     * @param threads threads of the parallel measurement
     * @param allThreadsMBps encoding throughput on {@code threads} threads
     */
    public record Result(String tokenizer, int vocabSize, double buildSeconds, double countSeconds, long bytes,
            long tokens, double singleThreadMBps, int threads, double allThreadsMBps) {
    }

    private TokenizerBenchmark() {
    }

    /**
     * Reads up to {@code maxBytes} of documents: whole plain-text files, and the text field of
     * each JSONL line (gzip or not). Invalid UTF-8 becomes U+FFFD.
     */
    public static List<String> loadSample(InputFiles inputs, String textField, long maxBytes) throws DataException {
        List<String> docs = new ArrayList<>();
        long bytes = 0;
        for (InputFile file : inputs.files()) {
            if (bytes >= maxBytes) {
                break;
            }
            try (InputStream raw = Files.newInputStream(file.path());
                 InputStream in = file.gzip() ? new GZIPInputStream(raw, 1 << 16) : raw;
                 BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8.newDecoder()
                         .onMalformedInput(CodingErrorAction.REPLACE)), 1 << 16)) {
                if (file.format() == InputFile.Format.JSONL) {
                    String line;
                    while (bytes < maxBytes && (line = reader.readLine()) != null) {
                        String text = JsonlText.extract(line, textField).text();
                        if (text != null) {
                            docs.add(text);
                            bytes += text.length();
                        }
                    }
                } else {
                    char[] buffer = new char[1 << 16];
                    StringBuilder text = new StringBuilder();
                    int n;
                    while (bytes + text.length() < maxBytes && (n = reader.read(buffer)) > 0) {
                        text.append(buffer, 0, n);
                    }
                    docs.add(text.toString());
                    bytes += text.length();
                }
            } catch (IOException e) {
                throw new DataException("cannot read " + file.path() + ": " + e.getMessage(), e);
            }
        }
        return docs;
    }

    /** Builds tokenizer {@code kind} from the sample and measures its encoding speed. */
    public static Result run(String kind, List<String> docs, int vocabSize, int threads) throws InterruptedException {
        long t0 = System.nanoTime();
        double countSeconds = 0;
        Tokenizer tokenizer;
        switch (kind) {
            case "char" -> {
                BitSet chars = new BitSet();
                docs.forEach(d -> d.codePoints().forEach(chars::set));
                tokenizer = CharTokenizer.fromCodePoints(chars);
            }
            case "gpt2" -> tokenizer = Gpt2Tokenizer.get();
            case "bpe" -> {
                PieceCounts counts = parallel(docs, threads, part -> {
                    PieceCounts c = new PieceCounts();
                    part.forEach(c::add);
                    return c;
                }).stream().reduce(new PieceCounts(), (a, b) -> {
                    a.addAll(b);
                    return a;
                });
                countSeconds = (System.nanoTime() - t0) / 1e9;
                tokenizer = BpeTrainer.train(counts, vocabSize, List.of(BpeTokenizer.END_OF_TEXT));
            }
            default -> throw new IllegalArgumentException("unknown tokenizer " + kind + "; use char, gpt2 or bpe");
        }
        double buildSeconds = kind.equals("gpt2") ? 0 : (System.nanoTime() - t0) / 1e9;
        long bytes = docs.stream().mapToLong(d -> d.getBytes(StandardCharsets.UTF_8).length).sum();

        // Warm-up: let the JIT compile the encoder (at least 32 MB of text) before anything is timed.
        long warm = 0;
        while (warm < 32_000_000) {
            for (String d : docs) {
                tokenizer.encode(d);
                warm += d.length();
            }
        }
        // Timed passes over the whole sample, at least 2 s worth, so small corpora measure too.
        long tokens = 0;
        int passes = 0;
        long t1 = System.nanoTime();
        do {
            tokens = 0;
            for (String d : docs) {
                tokens += tokenizer.encode(d).length;
            }
            passes++;
        } while (System.nanoTime() - t1 < 2_000_000_000L);
        double single = passes * bytes / 1e6 / ((System.nanoTime() - t1) / 1e9);

        Tokenizer shared = tokenizer;
        passes = 0;
        long t2 = System.nanoTime();
        do {
            parallel(docs, threads, part -> {
                long n = 0;
                for (String d : part) {
                    n += shared.encode(d).length;
                }
                return n;
            });
            passes++;
        } while (System.nanoTime() - t2 < 2_000_000_000L);
        double all = passes * bytes / 1e6 / ((System.nanoTime() - t2) / 1e9);
        return new Result(kind, tokenizer.vocabSize(), buildSeconds, countSeconds, bytes, tokens, single, threads, all);
    }

    /** Splits docs into {@code threads} interleaved parts and maps each on its own thread. */
    private static <T> List<T> parallel(List<String> docs, int threads, java.util.function.Function<List<String>, T> work)
            throws InterruptedException {
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<T>> futures = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                List<String> part = new ArrayList<>();
                for (int i = t; i < docs.size(); i += threads) {
                    part.add(docs.get(i));
                }
                futures.add(pool.submit(() -> work.apply(part)));
            }
            List<T> results = new ArrayList<>();
            for (Future<T> f : futures) {
                results.add(f.get());
            }
            return results;
        } catch (java.util.concurrent.ExecutionException e) {
            throw new IllegalStateException("benchmark worker failed", e.getCause());
        } finally {
            pool.shutdownNow();
        }
    }
}
