package io.troupe.data.prepare;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.troupe.data.DataException;
import io.troupe.data.ingest.InputFiles;
import io.troupe.data.io.AtomicFiles;
import io.troupe.data.report.Counter;
import io.troupe.data.report.Counters;
import io.troupe.data.shard.Manifest;
import io.troupe.data.shard.ShardInfo;
import io.troupe.data.shard.TokenWidth;
import io.troupe.data.tokenize.BpeTrainer;
import io.troupe.data.tokenize.CharTokenizer;
import io.troupe.data.tokenize.Gpt2Tokenizer;
import io.troupe.data.tokenize.PieceCounts;
import io.troupe.data.tokenize.WordPieceTrainer;
import io.troupe.data.tokenize.Tokenizer;
import java.io.IOException;
import java.util.BitSet;
import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.Done;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.stream.javadsl.Sink;

/**
 * {@code troupe prepare}: turns files of text into a tokenized, sharded, checksummed dataset.
 *
 * <ol>
 *   <li>Clean pass ({@link Pipeline#clean}): read, decode, clean, filter, dedup, split.</li>
 *   <li>Tokenizer: gpt2 is fixed, so its clean pass tokenizes and writes shards directly; char
 *       and bpe need the whole corpus first, so the clean pass spools the kept documents and
 *       the tokenizer is built from them (the characters seen; BPE merges learnt from piece
 *       counts of the train split).</li>
 *   <li>Tokenize pass (char, bpe): the spool is tokenized into shards.</li>
 *   <li>{@code tokenizer.json}, then {@code manifest.json}, each written atomically; the
 *       manifest last, so its presence means the dataset is complete.</li>
 * </ol>
 * Any failure removes what the run wrote; an interrupted run leaves no manifest.
 */
public final class Preparer {

    private static final ObjectMapper MAPPER = new ObjectMapper();
    // Pekko is an engine here, not a service: a local actor system whatever provider other
    // modules' reference.conf ask for (prepare opens no port), quiet, daemon threads, no hooks.
    private static final String PEKKO_CONFIG = """
            pekko {
              actor.provider = local
              loggers = ["org.apache.pekko.event.Logging$DefaultLogger"]
              logging-filter = "org.apache.pekko.event.DefaultLoggingFilter"
              loglevel = "ERROR"
              stdout-loglevel = "ERROR"
              log-dead-letters = off
              log-dead-letters-during-shutdown = off
              daemonic = on
              jvm-shutdown-hooks = off
              coordinated-shutdown.run-by-jvm-shutdown-hook = off
              coordinated-shutdown.exit-jvm = off
            }
            """;

    private Preparer() {
    }

    /**
     * Prepares a dataset.
     *
     * @throws DataException with a one-line message naming the path or setting at fault: a
     *     missing input, an output directory that holds another dataset, an empty corpus after
     *     filtering, a strict-mode violation, an I/O failure
     */
    public static PrepareResult run(PrepareRequest request, PrepareListener listener) throws DataException {
        long start = System.nanoTime();
        HeapPeak.reset();
        PrepareSettings settings = request.settings();
        InputFiles inputs = InputFiles.expand(request.inputs(), request.selection());
        if (!inputs.documentation().isEmpty() || !inputs.excluded().isEmpty()) {
            listener.onSkippedFiles(inputs.documentation(), inputs.excluded());
        }
        OutputDirectory out = OutputDirectory.claim(request.out(), request.force());
        Counters counters = new Counters();
        counters.add(Counter.FILES, inputs.files().size());
        counters.add(Counter.FILES_UNSUPPORTED, inputs.unsupported());
        counters.add(Counter.FILES_DOCUMENTATION, inputs.documentation().size());
        counters.add(Counter.FILES_EXCLUDED, inputs.excluded().size());
        Config config = ConfigFactory.parseString(PEKKO_CONFIG).withFallback(ConfigFactory.load());
        ActorSystem system = ActorSystem.create("troupe-prepare", config);
        ExecutorService workers = Executors.newFixedThreadPool(settings.threads(), workerThreads());
        SplitWriters[] writers = {null};
        boolean complete = false;
        try {
            AuditStage audit = new AuditStage(request.audit());
            Pipeline pipeline = new Pipeline(settings, counters, listener, system, workers, audit);
            PrepareResult result = new Run(settings, inputs, out, counters, pipeline, writers, audit).execute(start);
            complete = true;
            return result;
        } finally {
            workers.shutdownNow();
            system.terminate();
            try {
                system.getWhenTerminated().toCompletableFuture().get(10, TimeUnit.SECONDS);
            } catch (Exception ignored) {
                // daemon threads: a slow shutdown does not keep the JVM alive
            }
            if (!complete) {
                if (writers[0] != null) {
                    writers[0].abort();
                }
                out.discard();
            }
        }
    }

    /** One run's steps, sharing its state. */
    private record Run(PrepareSettings settings, InputFiles inputs, OutputDirectory out, Counters counters,
            Pipeline pipeline, SplitWriters[] writers, AuditStage audit) {

        PrepareResult execute(long start) throws DataException {
            Tokenizer tokenizer;
            double tokenizerSeconds = 0;
            if (settings.tokenizer().kind() == TokenizerKind.GPT2) {
                tokenizer = Gpt2Tokenizer.get();
                writers[0] = newWriters(tokenizer);
                pipeline.clean(inputs, pipeline.tokenizeAndWrite(tokenizer, writers[0], PrepareListener.Phase.CLEAN));
                requireDocuments();
            } else {
                Spool spool = new Spool(out.staging().resolve("documents.spool"));
                BitSet chars = new BitSet();
                boolean[] bmp = new boolean[Character.MAX_VALUE + 1];
                boolean collectChars = settings.tokenizer().kind() == TokenizerKind.CHAR;
                Sink<KeptDocument, CompletionStage<Done>> toSpool = Sink.<KeptDocument>foreach(doc -> {
                    spool.write(doc);
                    if (collectChars) {
                        addChars(doc.text(), bmp, chars);
                    }
                }).withAttributes(Pipeline.BLOCKING_IO);
                pipeline.clean(inputs, toSpool);
                try {
                    spool.close();
                } catch (IOException e) {
                    throw new DataException("cannot write the spool in " + out.staging() + ": " + e.getMessage(), e);
                }
                requireDocuments();
                long t0 = System.nanoTime();
                for (int c = 0; c < bmp.length; c++) {
                    if (bmp[c]) {
                        chars.set(c);
                    }
                }
                tokenizer = collectChars ? charTokenizer(chars)
                        : settings.tokenizer().kind() == TokenizerKind.WORDPIECE ? wordPiece(spool) : bpe(spool);
                tokenizerSeconds = (System.nanoTime() - t0) / 1e9;
                writers[0] = newWriters(tokenizer);
                pipeline.tokenize(spool, tokenizer, writers[0]);
            }
            return finish(tokenizer, tokenizerSeconds, start);
        }

        private SplitWriters newWriters(Tokenizer tokenizer) {
            return new SplitWriters(out.dir(), TokenWidth.forVocab(tokenizer.vocabSize()), settings.shardTokens(),
                    counters);
        }

        private Tokenizer charTokenizer(BitSet chars) {
            // The document separator is a blank line, so '\n' must be in the vocabulary.
            TokenizingStage.TEXT_SEPARATOR.chars().forEach(chars::set);
            return CharTokenizer.fromCodePoints(chars);
        }

        private Tokenizer wordPiece(Spool spool) throws DataException {
            PieceCounts words = pipeline.countPieces(spool, settings.tokenizer().bpeSampleBytes(), PieceCounts::bertWords);
            return WordPieceTrainer.train(words, settings.tokenizer().vocabSize());
        }

        private Tokenizer bpe(Spool spool) throws DataException {
            PieceCounts counts = pipeline.countPieces(spool, settings.tokenizer().bpeSampleBytes(), PieceCounts::new);
            return BpeTrainer.train(counts, settings.tokenizer().vocabSize(), settings.tokenizer().specialTokens());
        }

        private void requireDocuments() throws DataException {
            long read = counters.get(Counter.DOCS_READ);
            long train = counters.get(Counter.DOCS_TRAIN);
            long val = counters.get(Counter.DOCS_VAL);
            if (read == 0) {
                throw new DataException("no document could be read from " + inputs.files().size() + " input file(s) ("
                        + counters.get(Counter.FILES_BINARY) + " binary, " + counters.get(Counter.FILES_UNREADABLE)
                        + " unreadable, all others empty); pass files with text");
            }
            if (train + val == 0) {
                throw new DataException("the corpus is empty after filtering: all " + read
                        + " documents were removed (" + removals() + "); loosen the filters with key=value settings"
                        + " (see reference.conf), e.g. min_alpha_fraction=0 or --on-invalid=replace");
            }
            if (train == 0) {
                throw new DataException("no document went to the train split (" + val + " went to val); lower"
                        + " --val-fraction or add documents");
            }
            if (val == 0 && settings.split().valFraction() > 0) {
                throw new DataException("no document went to the val split (" + train + " documents, --val-fraction "
                        + settings.split().valFraction() + "); add documents, raise --val-fraction, or cut text"
                        + " files into smaller documents with text_document_bytes=N");
            }
        }

        private String removals() {
            StringBuilder s = new StringBuilder();
            PrepareReport report = report(0, 0, 0);
            for (PrepareReport.FunnelStep step : report.funnel()) {
                if (step.removed() > 0) {
                    s.append(s.length() == 0 ? "" : ", ").append(step.removed()).append(' ').append(step.name());
                }
            }
            return s.length() == 0 ? "nothing removed" : s.toString();
        }

        private PrepareResult finish(Tokenizer tokenizer, double tokenizerSeconds, long start) throws DataException {
            List<ShardInfo> shards;
            try {
                shards = writers[0].finish();
            } catch (IOException e) {
                throw new DataException("cannot complete the shards in " + out.dir() + ": " + e.getMessage(), e);
            }
            tokenizer.save(out.dir());
            try {
                out.removeStaging();
            } catch (IOException e) {
                throw new DataException("cannot remove " + out.staging() + ": " + e.getMessage(), e);
            }
            PrepareReport report = report((System.nanoTime() - start) / 1e9, tokenizerSeconds, tokenizer.vocabSize());
            ObjectNode reportJson = (ObjectNode) report.toJson(MAPPER);
            audit.finish(reportJson, counters, out.dir(), MAPPER);
            Manifest manifest = new Manifest(tokenizer.type(), tokenizer.vocabSize(),
                    TokenWidth.forVocab(tokenizer.vocabSize()),
                    counters.get(Counter.DOCS_TRAIN) + counters.get(Counter.DOCS_VAL),
                    counters.get(Counter.TOKENS_TRAIN), counters.get(Counter.TOKENS_VAL), shards,
                    settings.json(), reportJson);
            try {
                // Last: its presence is what makes the directory a dataset.
                AtomicFiles.writeString(out.dir().resolve(Manifest.FILE_NAME), manifest.toJson() + "\n");
            } catch (IOException e) {
                throw new DataException("cannot write " + out.dir().resolve(Manifest.FILE_NAME) + ": "
                        + e.getMessage() + "; check that the disk is not full", e);
            }
            return new PrepareResult(out.dir(), manifest, report);
        }

        private PrepareReport report(double seconds, double tokenizerSeconds, int vocabSize) {
            return new PrepareReport(counters.snapshot(), seconds, tokenizerSeconds, HeapPeak.bytes(), HeapPeak.max(),
                    settings.threads(), pipeline.fingerprinter().lsh(), pipeline.dedupIndexBytes(), vocabSize);
        }

        private static void addChars(String text, boolean[] bmp, BitSet chars) {
            // A plain table for the BMP: this loop sees every character of the corpus, in the
            // one sequential stage, and a store is cheaper than BitSet.set's checks.
            for (int i = 0; i < text.length(); i++) {
                char c = text.charAt(i);
                if (!Character.isSurrogate(c)) {
                    bmp[c] = true;
                } else {
                    int cp = text.codePointAt(i);
                    chars.set(cp);
                    i += Character.charCount(cp) - 1;
                }
            }
        }
    }

    private static ThreadFactory workerThreads() {
        AtomicInteger n = new AtomicInteger();
        return runnable -> {
            Thread t = new Thread(runnable, "troupe-prepare-worker-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }
}
