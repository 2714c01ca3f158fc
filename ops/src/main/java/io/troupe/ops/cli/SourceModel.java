package io.troupe.ops.cli;

import io.troupe.data.DataException;
import io.troupe.data.source.DataSource;
import io.troupe.data.tokenize.HfTokenizerFiles;
import io.troupe.data.tokenize.Tokenizer;
import io.troupe.data.labelled.LabelSet;
import io.troupe.model.gpt.ClassifierGraphs;
import io.troupe.model.gpt.ClassifierHead;
import io.troupe.model.gpt.GptConfig;
import io.troupe.model.gpt.ParameterLayout;
import io.troupe.model.gpt.Pooling;
import io.troupe.model.hf.Gpt2Import;
import io.troupe.model.hf.ImportedGpt;
import io.troupe.model.io.ModelFileException;
import io.troupe.protocol.onnx.ModelProto;
import io.troupe.protocol.onnx.StringStringEntryProto;
import io.troupe.protocol.onnx.TensorProto;
import io.troupe.worker.checkpoint.Checkpoint;
import io.troupe.worker.checkpoint.CheckpointException;
import io.troupe.worker.checkpoint.CheckpointStore;
import io.troupe.worker.run.ClassifierExport;
import io.troupe.worker.run.ModelExport;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The pretrained model a fine-tuning run starts from ({@code finetune --from}): its shape, every
 * parameter (GPT-2 layout), its tokenizer, and where it came from with the SHA-256 of the file
 * read, for summary.json.
 *
 * <p>A run directory is read from its exported {@code model.onnx} (the run's final weights),
 * or, when the run never exported, from its newest checkpoint; a checkpoint file is read as it is.
 * A GPT classifier's run ({@code finetune --task classify}) is a source only where a caller asks
 * for one ({@link #load(String, boolean)}): then {@code parameters} is the whole classifier's
 * layout (body, then {@code cls.*}) and {@code classifier} its head and label set.
 *
 * @param classifier the head and labels of a classifier source, or null for a language model
 */
record SourceModel(GptConfig config, float[] parameters, Tokenizer tokenizer, String path, String sha256,
                   Classifier classifier) {

    /**
     * What a classifier source adds: its head (classes and pooling) and its label set, whose
     * order is the head's column order.
     */
    record Classifier(ClassifierHead head, LabelSet labels) {
    }

    /** A language-model source. */
    SourceModel(GptConfig config, float[] parameters, Tokenizer tokenizer, String path, String sha256) {
        this(config, parameters, tokenizer, path, sha256, null);
    }

    /**
     * As {@link #load(String)}, and with {@code allowClassifier} a GPT classifier's run directory
     * too (continued by {@code finetune --task classify}).
     */
    static SourceModel load(String from, boolean allowClassifier) {
        if (!allowClassifier || from.startsWith(HF_PREFIX)) {
            return load(from);
        }
        Path source = Path.of(from);
        Path model = source.resolve(ModelExport.FILE_NAME);
        if (Files.isDirectory(source) && Files.isRegularFile(model)) {
            return fromExport(source, model, true);
        }
        return load(from);
    }

    /**
     * Loads {@code from}: a run directory, a checkpoint file, or {@code hf:DIR}, a Hugging Face GPT-2
     * directory (config.json, model.safetensors, vocab.json + merges.txt or tokenizer.json).
     *
     * @throws UserError (input data) naming what the path is not and what to pass instead
     */
    static SourceModel load(String from) {
        if (from.startsWith(HF_PREFIX)) {
            return fromHuggingFace(Path.of(from.substring(HF_PREFIX.length())));
        }
        Path source = Path.of(from);
        if (Files.isRegularFile(source)) {
            return fromCheckpoint(source);
        }
        if (!Files.isDirectory(source)) {
            throw UserError.inputData("--from " + source + " does not exist; pass a troupe run directory, a"
                    + " checkpoint file, none (with --preset) or hf:DIR");
        }
        Path model = source.resolve(ModelExport.FILE_NAME);
        if (Files.isRegularFile(model)) {
            return fromExport(source, model, false);
        }
        List<Path> checkpoints;
        try {
            checkpoints = new CheckpointStore(source, 1).list();
        } catch (CheckpointException e) {
            throw UserError.inputData(e.getMessage(), e);
        }
        if (checkpoints.isEmpty()) {
            throw UserError.inputData("--from " + source + " is not a troupe run: it has no model.onnx and no"
                    + " checkpoints; pass the --out directory of troupe train, or a checkpoint file");
        }
        return fromCheckpoint(checkpoints.get(0));
    }

    /** The prefix of a Hugging Face GPT-2 directory in {@code --from}. */
    static final String HF_PREFIX = "hf:";

    private static SourceModel fromHuggingFace(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw UserError.inputData("--from hf:" + dir + " is not a directory; give a Hugging Face GPT-2 directory"
                    + " with config.json, model.safetensors and vocab.json + merges.txt (or tokenizer.json)");
        }
        ImportedGpt imported = imported(HF_PREFIX + dir, () -> Gpt2Import.load(dir));
        Tokenizer tokenizer = imported(HF_PREFIX + dir, () -> HfTokenizerFiles.load(dir));
        if (tokenizer.vocabSize() != imported.config().vocabSize()) {
            throw UserError.inputData("--from hf:" + dir + ": the tokenizer has " + tokenizer.vocabSize()
                    + " tokens but config.json a vocab_size of " + imported.config().vocabSize());
        }
        return new SourceModel(imported.config(), imported.parameters(), tokenizer, imported.weightsFile().toString(),
                sha256(imported.weightsFile()));
    }

    private static SourceModel fromCheckpoint(Path file) {
        Checkpoint checkpoint;
        try {
            checkpoint = CheckpointStore.load(file);
        } catch (CheckpointException e) {
            throw UserError.inputData("--from " + file + " is not a troupe checkpoint: " + e.getMessage(), e);
        }
        GptConfig config = CheckpointExport.modelOf(checkpoint, file);
        Tokenizer tokenizer = CheckpointExport.tokenizerOf(checkpoint, file, config);
        return new SourceModel(config, checkpoint.parameters(), tokenizer, file.toString(), sha256(file));
    }

    /** An exported model.onnx's metadata and initializers, by name. */
    record Export(Map<String, String> meta, Map<String, TensorProto> weights) {
    }

    /** Reads {@code model} (in run directory {@code dir}) for its metadata and initializers. */
    static Export readExport(Path dir, Path model) {
        ModelProto proto;
        try (InputStream in = Files.newInputStream(model)) {
            proto = ModelProto.parseFrom(in);
        } catch (IOException e) {
            throw UserError.inputData("--from " + dir + ": " + model + " is not a readable ONNX model (" + e.getMessage()
                    + ")", e);
        }
        Map<String, String> meta = new HashMap<>();
        for (StringStringEntryProto p : proto.getMetadataPropsList()) {
            meta.put(p.getKey(), p.getValue());
        }
        Map<String, TensorProto> weights = new HashMap<>();
        for (TensorProto t : proto.getGraph().getInitializerList()) {
            weights.put(t.getName(), t);
        }
        return new Export(meta, weights);
    }

    /** Reads the weights back out of an exported inference model: one initializer per parameter. */
    private static SourceModel fromExport(Path dir, Path model, boolean allowClassifier) {
        Export export = readExport(dir, model);
        Map<String, String> meta = export.meta();
        boolean classifier = ClassifierExport.CLASSIFY.equals(meta.get(ClassifierExport.TASK));
        if (classifier && !allowClassifier) {
            throw UserError.inputData("--from " + dir + " is a fine-tuned classifier; continue it with finetune --task"
                    + " classify, or start from the language model it was fine-tuned from");
        }
        if (classifier && "bert".equals(meta.get("troupe.arch"))) {
            // Encoder classifier runs are EncoderSource's (finetune checks it first); not a GPT shape.
            throw UserError.inputData("--from " + dir + " is an encoder (BERT) classifier; continue it with finetune"
                    + " --task classify");
        }
        Map<String, TensorProto> weights = export.weights();
        GptConfig config;
        try {
            config = new GptConfig(intMeta(meta, ModelExport.VOCAB_SIZE, model), intMeta(meta, ModelExport.BLOCK_SIZE, model),
                    intMeta(meta, "troupe.n_layer", model), intMeta(meta, "troupe.n_head", model),
                    intMeta(meta, "troupe.n_embd", model), 0.0, weights.containsKey("ln_f.bias"),
                    !weights.containsKey("lm_head.weight"));
        } catch (IllegalArgumentException e) {
            throw UserError.inputData(model + " describes an impossible model: " + e.getMessage(), e);
        }
        Classifier head = classifier ? classifierOf(dir, model, meta) : null;
        ParameterLayout layout = head == null ? ParameterLayout.of(config) : ClassifierGraphs.layout(config, head.head());
        float[] params = parametersOf(layout, weights, model);
        Tokenizer tokenizer;
        try {
            tokenizer = Tokenizer.load(dir);
        } catch (DataException e) {
            throw UserError.inputData("--from " + dir + ": " + e.getMessage(), e);
        }
        if (tokenizer.vocabSize() != config.vocabSize()) {
            throw UserError.inputData("--from " + dir + ": model.onnx has a vocabulary of " + config.vocabSize()
                    + " but tokenizer.json has " + tokenizer.vocabSize() + "; they come from different runs");
        }
        return new SourceModel(config, params, tokenizer, model.toString(), sha256(model), head);
    }

    /** Every parameter of {@code layout}, flat, from the initializers of the same names. */
    static float[] parametersOf(ParameterLayout layout, Map<String, TensorProto> weights, Path model) {
        float[] params = new float[Math.toIntExact(layout.size())];
        for (ParameterLayout.View v : layout.views()) {
            TensorProto t = weights.get(v.name());
            if (t == null || t.getDataType() != TensorProto.DataType.FLOAT_VALUE
                    || t.getRawData().size() != v.length() * Float.BYTES) {
                throw UserError.inputData(model + " has no float parameter " + v.name() + " of " + v.length()
                        + " values; it is not a troupe export of the shape its metadata gives");
            }
            ByteBuffer raw = t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
            raw.asFloatBuffer().get(params, Math.toIntExact(v.offset()), Math.toIntExact(v.length()));
        }
        return params;
    }

    /** The head and labels of a classifier export: labels.json must name as many labels as the head has classes. */
    static Classifier classifierOf(Path dir, Path model, Map<String, String> meta) {
        int classes = intMeta(meta, ClassifierExport.CLASSES, model);
        Pooling pooling;
        LabelSet labels;
        try {
            pooling = Pooling.parse(meta.getOrDefault(ClassifierExport.POOLING, Pooling.LAST.label()));
            labels = LabelSet.read(dir.resolve(LabelSet.FILE_NAME));
        } catch (IllegalArgumentException | DataException e) {
            throw UserError.inputData("--from " + dir + ": " + e.getMessage(), e);
        }
        if (labels.size() != classes) {
            throw UserError.inputData("--from " + dir + ": " + LabelSet.FILE_NAME + " names " + labels.size()
                    + " labels but " + model + " has " + classes + " classes; they come from different runs");
        }
        return new Classifier(new ClassifierHead(classes, pooling), labels);
    }

    private static int intMeta(Map<String, String> meta, String key, Path model) {
        String value = meta.get(key);
        if (value == null) {
            throw UserError.inputData(model + " has no " + key + " metadata; it was not exported by troupe train");
        }
        try {
            return Integer.parseInt(value);
        } catch (NumberFormatException e) {
            throw UserError.inputData(model + " has a non-numeric " + key + " (" + value + ")", e);
        }
    }

    /** Reading one file of an imported model (weights or tokenizer). */
    @FunctionalInterface
    interface Import<T> {
        T read() throws ModelFileException, DataException;
    }

    /**
     * Runs an importer, turning its refusal of a file (a bad header, a missing tensor, an
     * unreadable tokenizer) into the one-line input error every {@code --from} source gives.
     *
     * @param from the --from value as given, which the message names
     */
    static <T> T imported(String from, Import<T> importer) {
        try {
            return importer.read();
        } catch (ModelFileException | DataException e) {
            throw UserError.inputData("--from " + from + ": " + e.getMessage(), e);
        }
    }

    /** SHA-256 of a file's bytes, hex: the data module's one definition of a content hash. */
    static String sha256(Path file) {
        try {
            return DataSource.sha256(file);
        } catch (IOException e) {
            throw UserError.io("cannot read " + file + ": " + e.getMessage(), e);
        }
    }
}
