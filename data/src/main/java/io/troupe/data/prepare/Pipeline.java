package io.troupe.data.prepare;

import io.troupe.data.DataException;
import io.troupe.data.dedup.Deduplicator;
import io.troupe.data.dedup.Fingerprinter;
import io.troupe.data.ingest.FileSources;
import io.troupe.data.ingest.Ingested;
import io.troupe.data.ingest.InputFiles;
import io.troupe.data.report.Counter;
import io.troupe.data.report.Counters;
import io.troupe.data.shard.Split;
import io.troupe.data.tokenize.PieceCounts;
import io.troupe.data.tokenize.Tokenizer;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import org.apache.pekko.Done;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.stream.ActorAttributes;
import org.apache.pekko.stream.Attributes;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;

/**
 * The Pekko Streams graphs of a prepare run. CPU work (cleaning, fingerprinting, tokenizing)
 * runs on a fixed pool of worker threads through {@code mapAsync}, which keeps the stream's order
 * and bounds the batches in flight to the thread count; everything stateful (dedup, the spool,
 * shard writing) is a sequential stage. Backpressure runs from the shard writer back to the file
 * readers, so memory stays bounded by batch size times threads whatever the corpus size.
 */
final class Pipeline {

    /** Pekko's dispatcher for blocking I/O: file writes must not stall the stream's own threads. */
    static final Attributes BLOCKING_IO =
            ActorAttributes.dispatcher("pekko.stream.materializer.blocking-io-dispatcher");

    private final PrepareSettings settings;
    private final Counters counters;
    private final PrepareListener listener;
    private final ActorSystem system;
    private final ExecutorService workers;
    private final Fingerprinter fingerprinter;
    private final AuditStage audit;
    private Deduplicator deduplicator;

    Pipeline(PrepareSettings settings, Counters counters, PrepareListener listener, ActorSystem system,
            ExecutorService workers, AuditStage audit) {
        this.audit = audit;
        this.settings = settings;
        this.counters = counters;
        this.listener = listener;
        this.system = system;
        this.workers = workers;
        this.fingerprinter = new Fingerprinter(settings.dedup());
    }

    Fingerprinter fingerprinter() {
        return fingerprinter;
    }

    /** Bytes of the dedup index after the clean pass. */
    long dedupIndexBytes() {
        return deduplicator == null ? 0 : deduplicator.indexBytes();
    }

    /**
     * Pass 1: read, decode, clean, dedup, split; every kept document goes to {@code sink}.
     * Runs to completion.
     */
    void clean(InputFiles inputs, Sink<KeptDocument, CompletionStage<Done>> sink) throws DataException {
        CleaningStage cleaning = new CleaningStage(settings, fingerprinter, counters);
        deduplicator = new Deduplicator(settings.dedup(), counters);
        Deduplicator dedup = deduplicator;
        ThrottledProgress progress = new ThrottledProgress(listener, PrepareListener.Phase.CLEAN);
        listener.onPhaseStart(PrepareListener.Phase.CLEAN, inputs.totalBytes());
        CompletionStage<Done> done = FileSources.of(inputs, settings.read(), n -> counters.add(Counter.INPUT_BYTES, n))
                // An async boundary: gunzip and framing run in one actor, dedup and the sink's side
                // in another, so the sequential stages overlap instead of sharing one thread.
                .async()
                .groupedWeighted(settings.batchBytes(), Ingested::weight)
                .mapAsync(settings.threads(), batch -> onWorker(() -> cleaning.process(batch)))
                .mapConcat(batch -> {
                    progress.maybeReport(counters.get(Counter.INPUT_BYTES), counters.get(Counter.DOCS_READ));
                    return batch;
                })
                .filter(doc -> dedup.keep(doc.fingerprint()))
                .map(doc -> {
                    boolean train = doc.split() == Split.TRAIN;
                    counters.increment(train ? Counter.DOCS_TRAIN : Counter.DOCS_VAL);
                    counters.add(train ? Counter.TEXT_BYTES_TRAIN : Counter.TEXT_BYTES_VAL, doc.utf8Bytes());
                    return new KeptDocument(doc.split(), doc.text());
                })
                // Augmentation and the data audit see what is written: swapping and measuring run on
                // the workers, in order (mapAsync); the sums are added in one stage.
                .groupedWeighted(settings.batchBytes(), doc -> doc.text().length() + 1L)
                .mapAsync(settings.threads(), batch -> onWorker(() -> audit.examine(batch)))
                .mapConcat(audit::record)
                .runWith(sink, system);
        await(done);
        progress.report(counters.get(Counter.INPUT_BYTES), counters.get(Counter.DOCS_READ));
        listener.onPhaseEnd(PrepareListener.Phase.CLEAN);
    }

    /** A sink that tokenizes documents on the workers and writes them, in order, to shards. */
    Sink<KeptDocument, CompletionStage<Done>> tokenizeAndWrite(Tokenizer tokenizer, SplitWriters writers,
            PrepareListener.Phase phase) {
        TokenizingStage stage = new TokenizingStage(tokenizer);
        ThrottledProgress progress = new ThrottledProgress(listener, phase);
        long[] chars = {0, 0};
        Flow<KeptDocument, TokenizedDocument, NotUsed> tokenize = Flow.<KeptDocument>create()
                .groupedWeighted(settings.batchBytes(), doc -> doc.text().length() + 1L)
                .mapAsync(settings.threads(), batch -> onWorker(() -> stage.process(batch)))
                .mapConcat(batch -> batch);
        Sink<TokenizedDocument, CompletionStage<Done>> write = Sink.<TokenizedDocument>foreach(doc -> {
            writers.write(doc);
            chars[0] += doc.textChars() + 1;
            chars[1]++;
            if (phase == PrepareListener.Phase.TOKENIZE) {
                progress.maybeReport(chars[0], chars[1]);
            }
        }).withAttributes(BLOCKING_IO);
        return tokenize.toMat(write, Keep.right());
    }

    /** Pass 2 (char, bpe): tokenizes the spooled documents into shards. */
    void tokenize(Spool spool, Tokenizer tokenizer, SplitWriters writers) throws DataException {
        listener.onPhaseStart(PrepareListener.Phase.TOKENIZE, spool.bytes());
        CompletionStage<Done> done = Source.fromIterator(spool::reader)
                .withAttributes(BLOCKING_IO)
                .runWith(tokenizeAndWrite(tokenizer, writers, PrepareListener.Phase.TOKENIZE), system);
        await(done);
        listener.onProgress(PrepareListener.Phase.TOKENIZE, spool.bytes(), counters.get(Counter.DOCS_TRAIN)
                + counters.get(Counter.DOCS_VAL));
        listener.onPhaseEnd(PrepareListener.Phase.TOKENIZE);
    }

    /**
     * Counts the pre-tokenized pieces of the first {@code sampleChars} characters of the train
     * split, in parallel: the input of BPE training.
     */
    PieceCounts countPieces(Spool spool, long sampleChars, java.util.function.Supplier<PieceCounts> empty)
            throws DataException {
        long[] taken = {0};
        long total = Math.min(sampleChars, counters.get(Counter.TEXT_BYTES_TRAIN));
        listener.onPhaseStart(PrepareListener.Phase.TRAIN_TOKENIZER, total);
        ThrottledProgress progress = new ThrottledProgress(listener, PrepareListener.Phase.TRAIN_TOKENIZER);
        long[] counted = {0, 0};
        CompletionStage<PieceCounts> done = Source.fromIterator(spool::reader)
                .withAttributes(BLOCKING_IO)
                .filter(doc -> doc.split() == Split.TRAIN)
                .takeWhile(doc -> {
                    boolean more = taken[0] < sampleChars;
                    taken[0] += doc.text().length();
                    return more;
                })
                .groupedWeighted(settings.batchBytes(), doc -> doc.text().length() + 1L)
                .mapAsyncUnordered(settings.threads(), batch -> onWorker(() -> count(batch, empty.get())))
                .runFold(empty.get(), (all, part) -> {
                    all.addAll(part);
                    counted[0] = all.chars();
                    progress.maybeReport(counted[0], 0);
                    return all;
                }, system);
        PieceCounts counts = await(done);
        listener.onProgress(PrepareListener.Phase.TRAIN_TOKENIZER, counts.chars(), 0);
        listener.onPhaseEnd(PrepareListener.Phase.TRAIN_TOKENIZER);
        return counts;
    }

    private static PieceCounts count(List<KeptDocument> batch, PieceCounts counts) {
        for (KeptDocument doc : batch) {
            counts.add(doc.text());
        }
        return counts;
    }

    private <T> CompletionStage<T> onWorker(java.util.function.Supplier<T> work) {
        return CompletableFuture.supplyAsync(work, workers);
    }

    /** Waits for a stream; unwraps a stage's DataException so its one-line message survives. */
    static <T> T await(CompletionStage<T> done) throws DataException {
        try {
            return done.toCompletableFuture().get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DataException("prepare was interrupted; the output directory holds no dataset", e);
        } catch (ExecutionException e) {
            for (Throwable t = e.getCause(); t != null; t = t.getCause()) {
                if (t instanceof DataException data) {
                    throw data;
                }
                if (t instanceof UncheckedIOException io) {
                    throw DataException.io(io.getMessage() + "; check that the disk is not full and the"
                            + " directory is writable", io);
                }
            }
            throw new IllegalStateException("the prepare pipeline failed", e.getCause());
        }
    }
}
