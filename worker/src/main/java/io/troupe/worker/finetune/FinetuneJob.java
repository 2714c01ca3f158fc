package io.troupe.worker.finetune;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.troupe.data.DataException;
import io.troupe.data.io.AtomicFiles;
import io.troupe.data.labelled.LabelSet;
import io.troupe.data.labelled.LabelledData;
import io.troupe.data.labelled.LabelledReader;
import io.troupe.data.labelled.LabelledSplit;
import io.troupe.data.labelled.StratifiedSplits;
import io.troupe.data.tokenize.Tokenizer;
import io.troupe.model.gpt.Backbone;
import io.troupe.model.gpt.ClassifierGraphs;
import io.troupe.model.gpt.ClassifierHead;
import io.troupe.model.gpt.GptConfig;
import io.troupe.model.gpt.LoraConfig;
import io.troupe.model.gpt.ParameterLayout;
import io.troupe.model.gpt.Pooling;
import io.troupe.model.gpt.Trainable;
import io.troupe.model.io.ModelFileException;
import io.troupe.model.io.Safetensors;
import io.troupe.model.io.SafetensorsWriter;
import io.troupe.model.io.TensorEntry;
import io.troupe.model.seq2seq.Seq2SeqConfig;
import io.troupe.worker.job.StartingPoint;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * A fine-tuning job as a cluster's workers rebuild it (the {@code finetune_json} of a JoinJob):
 * where its starting parameters are (a safetensors file the command wrote into the run
 * directory, named by path and SHA-256, as the data is), which of them train, the LoRA
 * settings, and for {@code classify} the head and how the labelled file is split. A
 * {@code translate} job is an encoder-decoder ({@code train-seq2seq --workers N}, also from
 * scratch: its start file is the fresh initialisation), carrying its {@code Seq2SeqConfig}.
 *
 * <p>The command builds the {@link StartingPoint} exactly as a local run does (the source's
 * body, a fresh head from the seed, LoRA's A and B) and writes all of it; a worker reads it
 * back instead of loading the source itself, so every worker, and a resumed run, starts from
 * the same bits whatever the source was (run, checkpoint, {@code hf:}).
 *
 * @param task {@code lm}, {@code classify} or {@code translate} (an encoder-decoder, from scratch or not)
 * @param startPath the starting parameters' safetensors file, as every worker opens it
 * @param startSha256 that file's SHA-256; workers refuse another
 * @param trains the names of the parameters that train (the rest are baked into the graphs)
 * @param loraRank LoRA's rank, 0 without LoRA
 * @param loraTargets LoRA's targets, comma-separated ("" without LoRA)
 * @param labels the class names in head order (classify), else empty
 * @param pooling the head's pooling label (classify)
 * @param valFraction the stratified share held out for validation (classify)
 * @param maxTokens the longest text read, in tokens (classify)
 * @param maxBadRows rows that may be skipped (classify)
 * @param trainExamples the samples an epoch has, what the coordinator counts samples against: a classify
 *     job's training examples, a translate job's batches times the global batch (filler rows included)
 * @param seq2seq a translate job's {@link Seq2SeqConfig} as JSON, else ""
 */
public record FinetuneJob(String task, String startPath, String startSha256, List<String> trains, int loraRank,
                          double loraAlpha, String loraTargets, double loraDropout, List<String> labels,
                          String pooling, double valFraction, int maxTokens, int maxBadRows, int trainExamples,
                          String seq2seq) {
    /** The starting parameters' file name in the run directory. */
    public static final String START_FILE = "start.safetensors";
    private static final ObjectMapper JSON = new ObjectMapper();

    public FinetuneJob {
        trains = List.copyOf(trains);
        labels = List.copyOf(labels);
        seq2seq = seq2seq == null ? "" : seq2seq;
        if (!task.equals("lm") && !task.equals("classify") && !task.equals(TRANSLATE)) {
            throw new IllegalArgumentException("a fine-tuning job's task is lm, classify or translate, not '" + task + "'");
        }
        if (task.equals(TRANSLATE) == seq2seq.isEmpty()) {
            throw new IllegalArgumentException("a translate job, and only one, carries a seq2seq config");
        }
    }

    /** A GPT job (lm or classify): no seq2seq config. */
    public FinetuneJob(String task, String startPath, String startSha256, List<String> trains, int loraRank,
                       double loraAlpha, String loraTargets, double loraDropout, List<String> labels, String pooling,
                       double valFraction, int maxTokens, int maxBadRows, int trainExamples) {
        this(task, startPath, startSha256, trains, loraRank, loraAlpha, loraTargets, loraDropout, labels, pooling,
                valFraction, maxTokens, maxBadRows, trainExamples, "");
    }

    /**
     * An encoder-decoder job ({@code train-seq2seq --workers N}, from scratch or from a model):
     * every parameter of {@code cfg} trains from the start file, on a pairs dataset whose epoch
     * has {@code samplesPerEpoch} samples.
     */
    public static FinetuneJob translate(String startPath, String startSha256, Seq2SeqConfig cfg, long samplesPerEpoch) {
        List<String> names = cfg.layout().views().stream().map(ParameterLayout.View::name).toList();
        try {
            return new FinetuneJob(TRANSLATE, startPath, startSha256, names, 0, 0, "", 0, List.of(), "last", 0, 0, 0,
                    Math.toIntExact(samplesPerEpoch), JSON.writeValueAsString(cfg));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a seq2seq config of numbers is always JSON", e);
        }
    }

    /** The task of an encoder-decoder job. */
    public static final String TRANSLATE = "translate";

    /** True for an encoder-decoder job. */
    public boolean translate() {
        return task.equals(TRANSLATE);
    }

    /** A translate job's model config. */
    public Seq2SeqConfig seq2seqConfig() {
        try {
            return JSON.readValue(seq2seq, Seq2SeqConfig.class);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("the coordinator's seq2seq config is not readable: "
                    + e.getOriginalMessage());
        }
    }

    /** Parameters the job trains: a translate job's whole model; 0 when only the workers know (a GPT job's). */
    public long seq2seqParameters() {
        return translate() ? seq2seqConfig().layout().size() : 0;
    }

    /** True for a classification job. */
    public boolean classify() {
        return task.equals("classify");
    }

    /** The LoRA settings, or null. */
    public LoraConfig lora() {
        return loraRank == 0 ? null
                : new LoraConfig(loraRank, loraAlpha, LoraConfig.parseTargets(loraTargets), loraDropout);
    }

    /** The targets of {@code lora} as {@link #loraTargets} spells them. */
    public static String targets(LoraConfig lora) {
        return lora == null ? "" : String.join(",", lora.targets().stream().sorted()
                .map(t -> t.name().toLowerCase(Locale.ROOT)).toList());
    }

    /** The JSON a JoinJob carries. */
    public String toJson() {
        try {
            return JSON.writeValueAsString(this);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a fine-tuning job of strings and numbers is always JSON", e);
        }
    }

    /** Parses {@link #toJson}. */
    public static FinetuneJob parse(String json) {
        try {
            return JSON.readValue(json, FinetuneJob.class);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("the coordinator's fine-tuning job is not readable: "
                    + e.getOriginalMessage());
        }
    }

    /**
     * Writes every parameter of {@code start} by name into {@code dir/start.safetensors}
     * (atomically) and returns the file's SHA-256.
     */
    public static String writeStart(Path dir, StartingPoint start) throws IOException {
        SafetensorsWriter writer = new SafetensorsWriter().metadata("format", "troupe-finetune-start");
        float[] all = start.fullParameters();
        for (ParameterLayout.View v : start.trainable().full().views()) {
            int from = Math.toIntExact(v.offset());
            writer.add(v.name(), Arrays.copyOfRange(all, from, from + Math.toIntExact(v.length())), v.shape());
        }
        Path file = dir.resolve(START_FILE);
        AtomicFiles.write(file, writer::writeTo);
        return sha256(file);
    }

    /** SHA-256 of a file's bytes, hex. */
    public static String sha256(Path file) throws IOException {
        try (InputStream in = new DigestInputStream(Files.newInputStream(file), MessageDigest.getInstance("SHA-256"))) {
            in.transferTo(java.io.OutputStream.nullOutputStream());
            return HexFormat.of().formatHex(((DigestInputStream) in).getMessageDigest().digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }

    /** The head of a classify job. */
    public ClassifierHead head() {
        return new ClassifierHead(labels.size(), Pooling.parse(pooling));
    }

    /**
     * The starting point this job names, read from its file and checked against its hash and
     * against the layout {@code cfg} (with the head and adapters) gives.
     *
     * @throws IllegalArgumentException naming what does not match
     */
    public StartingPoint start(GptConfig cfg) throws IOException {
        LoraConfig lora = lora();
        ParameterLayout base = classify() ? ClassifierGraphs.layout(cfg, head()) : ParameterLayout.of(cfg);
        return start(lora == null ? base : lora.extend(base, cfg), lora);
    }

    /** A translate job's starting point: every parameter of its seq2seq model, checked as {@link #start(GptConfig)} does. */
    public StartingPoint startSeq2Seq() throws IOException {
        return start(seq2seqConfig().layout(), null);
    }

    private StartingPoint start(ParameterLayout full, LoraConfig lora) throws IOException {
        Path file = Path.of(startPath);
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("the fine-tuning start " + file + " is not on this node; workers open it"
                    + " by the coordinator's path (put the run directory on a shared path)");
        }
        String sha = sha256(file);
        if (!sha.equals(startSha256)) {
            throw new IllegalArgumentException("the fine-tuning start " + file + " has SHA-256 " + sha
                    + ", not the coordinator's " + startSha256 + "; it changed since the job began");
        }
        float[] values = new float[Math.toIntExact(full.size())];
        try (Safetensors st = Safetensors.open(file)) {
            if (st.names().size() != full.views().size()) {
                throw new IllegalArgumentException(file + " holds " + st.names().size() + " tensors but this job's model has "
                        + full.views().size());
            }
            for (ParameterLayout.View v : full.views()) {
                TensorEntry e = st.entry(v.name()).orElseThrow(() -> new IllegalArgumentException(
                        file + " has no tensor " + v.name() + "; it is not this job's model"));
                if (!Arrays.equals(e.shape(), v.shape())) {
                    throw new IllegalArgumentException(file + ": " + v.name() + " is " + Arrays.toString(e.shape())
                            + ", the job's model needs " + Arrays.toString(v.shape()));
                }
                st.floats(v.name(), values, Math.toIntExact(v.offset()));
            }
        } catch (ModelFileException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
        Set<String> names = new HashSet<>(trains);
        Trainable trainable = Trainable.of(full, names::contains);
        if (trainable.names().size() != names.size()) {
            throw new IllegalArgumentException("the fine-tuning job trains parameters this model does not have: " + trains);
        }
        return new StartingPoint(values, trainable, lora);
    }

    /**
     * The labelled examples of a classify job on this node: the file read as the command read
     * it, split as it split it (stratified, seeded), encoded with the model's tokenizer.
     */
    public LabelledRows rows(Path data, Tokenizer tokenizer, Backbone cfg, long seed) throws DataException {
        LabelledData examples = LabelledReader.forTraining(maxBadRows).read(data);
        if (!examples.labels().equals(LabelSet.of(labels))) {
            throw new IllegalArgumentException("the labels of " + data + " on this node are " + examples.labels().names()
                    + ", the coordinator's are " + labels);
        }
        LabelledSplit split = StratifiedSplits.split(examples, valFraction, seed);
        int longest = Math.min(maxTokens, cfg.blockSize());
        EncodedExamples train = EncodedExamples.encode(split.train().examples(), tokenizer, longest);
        EncodedExamples val = EncodedExamples.encode(split.val().examples(), tokenizer, longest);
        if (train.size() != trainExamples) {
            throw new IllegalArgumentException(data + " gives " + train.size() + " training examples on this node, "
                    + trainExamples + " on the coordinator's");
        }
        return new LabelledRows(head(), examples.labels(), train, val, cfg.blockSize(), seed);
    }
}
