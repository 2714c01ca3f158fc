package io.troupe.ops.cli;

import io.troupe.data.DataException;
import io.troupe.data.ingest.InputFiles;
import io.troupe.data.synthetic.SyntheticCorpus;
import io.troupe.ops.prepare.TokenizerBenchmark;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code troupe bench tokenize}: tokenizer build time and encoding MB/s on a corpus sample. */
@Command(name = "tokenize",
        description = {"Measure tokenizers on a corpus: build time and encoding MB/s.",
            "Build time is, for bpe, counting pieces and learning merges; encoding is timed on one thread and on"
                + " --threads threads. With --synthetic SIZE, first writes a synthetic corpus of SIZE bytes (e.g. 1g)"
                + " to --work DIR (reused if present), for troupe prepare too."},
        mixinStandardHelpOptions = true)
final class BenchTokenizeCommand implements Callable<Integer> {

    @Spec
    private CommandSpec spec;

    @Option(names = "--input", paramLabel = "PATH", description = "Corpus file or directory (repeatable).")
    private List<Path> inputs = new ArrayList<>();

    @Option(names = "--synthetic", paramLabel = "SIZE", description = "Write a synthetic corpus of SIZE bytes (k, m, g suffixes).")
    private String synthetic;

    @Option(names = "--work", paramLabel = "DIR", defaultValue = "/tmp/troupe-synthetic",
            description = "Where --synthetic writes (default: ${DEFAULT-VALUE}).")
    private Path work;

    @Option(names = "--tokenizer", paramLabel = "NAME", split = ",", defaultValue = "char,gpt2,bpe",
            description = "Tokenizers to measure (default: ${DEFAULT-VALUE}).")
    private List<String> tokenizers;

    @Option(names = "--vocab-size", paramLabel = "N", defaultValue = "4096", description = "bpe vocabulary (default: ${DEFAULT-VALUE}).")
    private int vocabSize;

    @Option(names = "--max-mb", paramLabel = "MB", defaultValue = "256",
            description = "Use at most this many MB of the corpus, held in memory (default: ${DEFAULT-VALUE}).")
    private long maxMb;

    @Option(names = "--threads", paramLabel = "T", description = "Threads of the parallel measurement (default: the number of CPUs).")
    private Integer threads;

    @Option(names = "--json", description = "Print one JSON object per tokenizer.")
    private boolean json;

    @Override
    public Integer call() throws DataException, IOException, InterruptedException {
        int t = threads == null ? Runtime.getRuntime().availableProcessors() : threads;
        if (t < 1 || vocabSize < 258 || maxMb < 1) {
            throw UserError.usage("--threads must be >= 1, --vocab-size >= 258 and --max-mb >= 1");
        }
        PrintWriter out = spec.commandLine().getOut();
        List<Path> paths = new ArrayList<>(inputs);
        if (synthetic != null) {
            long size = parseSize(synthetic);
            Path marker = work.resolve(".synthetic-" + size);
            if (!Files.exists(marker)) {
                long start = System.nanoTime();
                SyntheticCorpus.Summary s = SyntheticCorpus.write(work, size, 64L << 20, 0);
                Files.writeString(marker, s.toString());
                if (!json) {
                    out.printf("wrote %s: %d files, %,d documents, %,d bytes of text (%,d exact, %,d near duplicates,"
                            + " %,d junk) in %.1f s%n", work, s.files(), s.documents(), s.bytes(), s.exactDuplicates(),
                            s.nearDuplicates(), s.junk(), (System.nanoTime() - start) / 1e9);
                    out.flush();
                }
            }
            paths.add(work);
        }
        if (paths.isEmpty()) {
            throw UserError.usage("pass --input PATH or --synthetic SIZE");
        }
        List<String> docs = TokenizerBenchmark.loadSample(InputFiles.expand(paths), "text", maxMb * 1_000_000);
        for (String kind : tokenizers) {
            TokenizerBenchmark.Result r;
            try {
                r = TokenizerBenchmark.run(kind.strip(), docs, vocabSize, t);
            } catch (IllegalArgumentException e) {
                throw UserError.usage(e.getMessage());
            }
            if (json) {
                Json.printLine(out, r);
            } else {
                out.printf("%-5s vocab %,7d  build %6.2f s  encode %6.1f MB/s (1 thread)  %6.1f MB/s (%d threads)"
                                + "  %,d bytes -> %,d tokens (%.2f bytes/token)%n", r.tokenizer(), r.vocabSize(),
                        r.buildSeconds(), r.singleThreadMBps(), r.allThreadsMBps(), r.threads(), r.bytes(), r.tokens(),
                        (double) r.bytes() / r.tokens());
                out.flush();
            }
        }
        return TroupeCli.EXIT_OK;
    }

    private static long parseSize(String text) {
        String s = text.strip().toLowerCase(java.util.Locale.ROOT);
        long unit = 1;
        if (s.endsWith("k") || s.endsWith("m") || s.endsWith("g")) {
            unit = switch (s.charAt(s.length() - 1)) {
                case 'k' -> 1L << 10;
                case 'm' -> 1L << 20;
                default -> 1L << 30;
            };
            s = s.substring(0, s.length() - 1);
        }
        try {
            return (long) (Double.parseDouble(s) * unit);
        } catch (NumberFormatException e) {
            throw UserError.usage("--synthetic " + text + " is not a size such as 1g or 500m");
        }
    }
}
