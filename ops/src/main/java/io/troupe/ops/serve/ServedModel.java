package io.troupe.ops.serve;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.troupe.data.DataException;
import io.troupe.data.tokenize.Tokenizer;
import io.troupe.data.labelled.LabelSet;
import io.troupe.ops.inference.BatchDecoder;
import io.troupe.ops.inference.BatchDecoders;
import io.troupe.ops.inference.BatchScheduler;
import io.troupe.ops.inference.ExportedClassifier;
import io.troupe.ops.inference.ExportedEncoder;
import io.troupe.ops.inference.ExportedModel;
import io.troupe.ops.inference.OnnxMetadata;
import io.troupe.worker.run.EncoderExport;
import io.troupe.worker.run.ModelExport;
import io.troupe.ops.serve.monitor.DriftMonitor;
import io.troupe.ops.translate.Seq2SeqDecoder;
import io.troupe.worker.seq2seq.Seq2SeqModelDir;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.slf4j.LoggerFactory;

/**
 * The model a server answers with, and its id. A language model (the export, its decoder and
 * scheduler, its chat template), a text classifier ({@code troupe finetune --task classify}) or a
 * BERT-style encoder (an export with {@code troupe.task=encoder}, for {@code /v1/embeddings}); the
 * fields of the other kinds are null.
 */
final class ServedModel implements AutoCloseable {
    final String id;
    final long created = System.currentTimeMillis() / 1000;
    final ExportedModel model;
    final BatchDecoder decoder;
    final BatchScheduler scheduler;
    final ChatTemplate template;
    final ExportedClassifier classifier;
    /** A seq2seq model ({@code troupe train-seq2seq}), answering only /v1/translate; else null. */
    final Seq2SeqDecoder translator;
    final ExportedEncoder encoder;
    /** Watches the texts this model is sent; set by the server right after opening, closed before the model. */
    volatile DriftMonitor monitor;
    /**
     * Holders of this model: the server while it is the one served, plus one per request using
     * it. The model closes when the count reaches 0, so a model swapped out finishes its
     * requests first.
     */
    private final AtomicInteger holders = new AtomicInteger(1);
    private boolean closedNow;

    private ServedModel(String id, ExportedModel model, BatchDecoder decoder, BatchScheduler scheduler, ChatTemplate template,
            ExportedClassifier classifier, ExportedEncoder encoder, Seq2SeqDecoder translator) {
        this.translator = translator;
        this.id = id;
        this.model = model;
        this.decoder = decoder;
        this.scheduler = scheduler;
        this.template = template;
        this.classifier = classifier;
        this.encoder = encoder;
    }

    /** One request's hold on the model; closing it twice is harmless. */
    final class Lease implements AutoCloseable {
        private final AtomicBoolean closed = new AtomicBoolean();

        ServedModel model() {
            return ServedModel.this;
        }

        @Override
        public void close() {
            if (closed.compareAndSet(false, true)) {
                release();
            }
        }
    }

    /** A hold for one request, or null when the model is already closing (swapped out and idle). */
    Lease lease() {
        while (true) {
            int n = holders.get();
            if (n == 0) {
                return null;
            }
            if (holders.compareAndSet(n, n + 1)) {
                return new Lease();
            }
        }
    }

    /** The server stops serving this model: it closes once its last request ends. */
    void retire() {
        release();
    }

    /** True once the model is closing or closed. */
    boolean retiredAndIdle() {
        return holders.get() == 0;
    }

    private void release() {
        if (holders.decrementAndGet() == 0) {
            // Often called on this model's own scheduler thread (a request's end), which close() joins: close elsewhere.
            Thread closer = new Thread(() -> {
                try {
                    close();
                } catch (Exception e) {
                    LoggerFactory.getLogger(ServedModel.class).warn("closing a swapped-out model failed", e);
                }
            }, "troupe-model-close");
            closer.setDaemon(true);
            closer.start();
        }
    }

    /** True for a text classifier, which answers /v1/classify and not the completion endpoints. */
    boolean isClassifier() {
        return classifier != null;
    }

    /** True for a seq2seq model, which answers /v1/translate only. */
    boolean isTranslator() {
        return translator != null;
    }

    /** True for an encoder, which answers /v1/embeddings and nothing else. */
    boolean isEncoder() {
        return encoder != null;
    }

    /** What the model is, for messages: a causal language model, text classifier, text encoder or seq2seq model. */
    String kind() {
        return isClassifier() ? "text classifier" : isEncoder() ? "text encoder"
                : isTranslator() ? "seq2seq translation model" : "causal language model";
    }

    /** The endpoint the model answers, for messages refusing another. */
    String endpoints() {
        return isClassifier() ? "/v1/classify" : isEncoder() ? "/v1/embeddings"
                : isTranslator() ? "/v1/translate" : "/v1/completions or /v1/chat/completions";
    }

    /** The tokenizer requests to this model are read with. */
    Tokenizer tokenizer() {
        return isClassifier() ? classifier.tokenizer() : isEncoder() ? encoder.tokenizer()
                : isTranslator() ? translator.model().tokenizer() : model.tokenizer();
    }

    /**
     * What would change for clients if {@code next} answered in this model's place, or null when
     * nothing they rely on does: the kind of model (what endpoints answer), the tokenizer (the
     * same text must mean the same tokens: token counts, limits and stop handling stay) and a
     * classifier's labels. Weights, depth and context may differ: that is what a newer checkpoint is.
     */
    String contractChange(ServedModel next) {
        if (!kind().equals(next.kind())) {
            return "it is a " + next.kind() + ", not a " + kind();
        }
        Tokenizer mine = tokenizer();
        Tokenizer theirs = next.tokenizer();
        if (!mine.type().equals(theirs.type()) || mine.vocabSize() != theirs.vocabSize()) {
            return "its tokenizer is " + theirs.type() + " with " + theirs.vocabSize() + " tokens, not " + mine.type()
                    + " with " + mine.vocabSize();
        }
        if (!mine.toJson().equals(theirs.toJson())) {
            return "its tokenizer maps text to different tokens (a different " + mine.type() + " vocabulary of the same size)";
        }
        if (isClassifier() && !classifier.labels().names().equals(next.classifier.labels().names())) {
            return "its labels are " + next.classifier.labels().names() + ", not " + classifier.labels().names();
        }
        return null;
    }

    /**
     * Opens the export in {@code dir}: a classifier when it has {@code labels.json}, else a
     * language model whose scheduler starts here.
     *
     * @param maxBatch sequences decoded together (the decoder's capacity, fewer when the KV budget holds fewer)
     * @param kvBudgetBytes memory for the KV caches of the cached decoder
     * @param queueLimit requests that may wait for a slot before 429
     * @param warn receives a line when the export has no KV-cache decoder
     * @throws DataException when the directory is not a Troupe export or its chat template is malformed
     */
    static ServedModel open(Path dir, String id, int threads, int maxBatch, long kvBudgetBytes, int queueLimit,
            BatchScheduler.Observer observer, ObjectMapper json, Consumer<String> warn) throws DataException {
        return open(dir, id, threads, maxBatch, kvBudgetBytes, queueLimit, observer, json, warn, StartupListener.NONE);
    }

    /** Opens the model in {@code dir}, telling {@code startup} what it is doing (see {@link StartupListener.Phase}). */
    static ServedModel open(Path dir, String id, int threads, int maxBatch, long kvBudgetBytes, int queueLimit,
            BatchScheduler.Observer observer, ObjectMapper json, Consumer<String> warn, StartupListener startup)
            throws DataException {
        boolean ok = false;
        try {
            ServedModel opened = openPhases(dir, id, threads, maxBatch, kvBudgetBytes, queueLimit, observer, json, warn,
                    startup);
            ok = true;
            return opened;
        } finally {
            startup.onDone(ok);
        }
    }

    private static ServedModel openPhases(Path dir, String id, int threads, int maxBatch, long kvBudgetBytes,
            int queueLimit, BatchScheduler.Observer observer, ObjectMapper json, Consumer<String> warn,
            StartupListener startup) throws DataException {
        StartupWeights weights = StartupWeights.of(dir);
        startup.onStart(weights.total());
        startup.onPhaseStart(StartupListener.Phase.LOAD_MODEL, weights.model());
        if (Seq2SeqModelDir.isSeq2Seq(dir)) {
            try {
                ServedModel m = new ServedModel(id, null, null, null, null, null, null, new Seq2SeqDecoder(
                        Seq2SeqModelDir.load(dir), threads));
                startup.onPhaseEnd(StartupListener.Phase.LOAD_MODEL);
                return m;
            } catch (ai.onnxruntime.OrtException e) {
                throw new DataException("cannot open the seq2seq model in " + dir + ": " + e.getMessage(), e);
            }
        }
        if (Files.isRegularFile(dir.resolve(LabelSet.FILE_NAME))) {
            ServedModel m = new ServedModel(id, null, null, null, null, ExportedClassifier.open(dir, threads), null, null);
            startup.onPhaseEnd(StartupListener.Phase.LOAD_MODEL);
            return m;
        }
        Path modelFile = dir.resolve(ModelExport.FILE_NAME);
        if (Files.isRegularFile(modelFile)
                && EncoderExport.ENCODER.equals(OnnxMetadata.read(modelFile).get(ExportedModel.TASK))) {
            ServedModel m = new ServedModel(id, null, null, null, null, null, ExportedEncoder.open(dir, threads), null);
            startup.onPhaseEnd(StartupListener.Phase.LOAD_MODEL);
            return m;
        }
        ChatTemplate template = ChatTemplate.load(dir, json);
        ExportedModel model = ExportedModel.open(dir, threads);
        startup.onPhaseEnd(StartupListener.Phase.LOAD_MODEL);
        BatchDecoder decoder;
        try {
            startup.onPhaseStart(StartupListener.Phase.GRAPH_SESSIONS, weights.sessions());
            decoder = BatchDecoders.forModel(dir, model, maxBatch, kvBudgetBytes, threads, warn);
            startup.onPhaseEnd(StartupListener.Phase.GRAPH_SESSIONS);
        } catch (RuntimeException e) {
            try {
                model.close();
            } catch (Exception suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
        startup.onPhaseStart(StartupListener.Phase.WARM_UP, weights.warmUp());
        try {
            DecoderWarmUp.run(decoder);
        } catch (Exception e) {
            for (AutoCloseable opened : new AutoCloseable[] {decoder, model}) {
                try {
                    opened.close();
                } catch (Exception suppressed) {
                    e.addSuppressed(suppressed);
                }
            }
            throw new DataException("the model in " + dir + " failed its first decoding step: " + e.getMessage(), e);
        }
        startup.onPhaseEnd(StartupListener.Phase.WARM_UP);
        BatchScheduler scheduler = new BatchScheduler(decoder, model.tokenizer(), queueLimit, observer);
        return new ServedModel(id, model, decoder, scheduler, template, null, null, null);
    }

    /** The model id of a directory: its name. */
    static String idOf(Path dir) {
        Path name = dir.toAbsolutePath().normalize().getFileName();
        return name == null ? "troupe" : name.toString();
    }

    /** Frees the model now, cancelling its running requests; only {@link #release} and the server's close call it. */
    @Override
    public synchronized void close() throws Exception {
        if (closedNow) {
            return;
        }
        closedNow = true;
        if (monitor != null) {
            monitor.close(); // it may be scoring a prompt with the model: it stops first
        }
        if (classifier != null) {
            classifier.close();
            return;
        }
        if (translator != null) {
            translator.close();
            return;
        }
        if (encoder != null) {
            encoder.close();
            return;
        }
        try (ExportedModel m = model; BatchDecoder d = decoder) {
            scheduler.close();
        }
    }
}
