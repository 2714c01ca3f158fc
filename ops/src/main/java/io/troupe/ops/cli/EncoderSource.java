package io.troupe.ops.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.troupe.data.tokenize.HfJsonTokenizer;
import io.troupe.model.bert.EncoderConfig;
import io.troupe.model.bert.ImportedEncoder;
import io.troupe.model.bert.OnnxBertImport;
import io.troupe.model.bert.SafetensorsBertImport;
import io.troupe.model.gpt.ClassifierGraphs;
import io.troupe.protocol.onnx.ModelProto;
import io.troupe.protocol.onnx.StringStringEntryProto;
import io.troupe.worker.run.ClassifierExport;
import io.troupe.worker.run.EncoderExport;
import io.troupe.worker.run.ModelExport;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

/**
 * A pretrained BERT-family encoder a fine-tuning run starts from ({@code finetune --from
 * onnx:FILE.onnx --tokenizer tokenizer.json}, or {@code --from hf:DIR} for a Hugging Face BERT
 * directory with config.json, model.safetensors and tokenizer.json): its imported shape and weights, its WordPiece
 * tokenizer, and the file it came from with its SHA-256, for summary.json.
 */
record EncoderSource(ImportedEncoder encoder, HfJsonTokenizer tokenizer, String path, String sha256,
                     SourceModel.Classifier classifier, float[] classifierParameters) {
    static final String ONNX_PREFIX = "onnx:";

    /** A pretrained encoder (no head). */
    EncoderSource(ImportedEncoder encoder, HfJsonTokenizer tokenizer, String path, String sha256) {
        this(encoder, tokenizer, path, sha256, null, null);
    }

    /**
     * True for a {@code --from} that names an encoder: onnx:FILE, or hf:DIR whose config.json
     * says {@code "model_type": "bert"} (other hf: directories are GPT-2s).
     */
    static boolean matches(String from) {
        if (from.startsWith(ONNX_PREFIX)) {
            return true;
        }
        if (isEncoderRun(Path.of(from))) {
            return true;
        }
        if (!from.startsWith(SourceModel.HF_PREFIX)) {
            return false;
        }
        Path config = Path.of(from.substring(SourceModel.HF_PREFIX.length())).resolve(SafetensorsBertImport.CONFIG_FILE);
        try {
            return Files.isRegularFile(config)
                    && "bert".equals(new ObjectMapper().readTree(config.toFile()).path("model_type").asText());
        } catch (IOException e) {
            return false;    // the GPT-2 import reports an unreadable config.json
        }
    }

    /**
     * Imports {@code from} (onnx:FILE) with the tokenizer.json at {@code tokenizer}.
     *
     * @throws UserError when a file is missing, unreadable, not a BERT-family encoder, or the
     *     tokenizer's vocabulary does not match the embedding rows
     */
    static EncoderSource load(String from, Path tokenizer) {
        if (from.startsWith(SourceModel.HF_PREFIX)) {
            return fromHuggingFace(from, tokenizer);
        }
        if (isEncoderRun(Path.of(from))) {
            if (tokenizer != null) {
                throw UserError.usage("--from " + from + " is a troupe run, which brings its own tokenizer; drop --tokenizer");
            }
            return fromRun(Path.of(from));
        }
        if (!from.startsWith(ONNX_PREFIX)) {
            if (tokenizer != null) {
                throw UserError.usage("--from " + from + " is a classifier run, which brings its own tokenizer; drop"
                        + " --tokenizer");
            }
            return fromClassifierRun(Path.of(from));
        }
        Path file = Path.of(from.substring(ONNX_PREFIX.length()));
        if (!Files.isRegularFile(file)) {
            throw UserError.inputData("--from " + from + ": " + file + " is not a file; give the .onnx export of a"
                    + " BERT-family encoder (see README: all-MiniLM-L6-v2)");
        }
        if (tokenizer == null) {
            throw UserError.usage("--from " + from + " needs --tokenizer tokenizer.json (the encoder's Hugging Face"
                    + " tokenizer)");
        }
        HfJsonTokenizer tok = SourceModel.imported(from, () -> HfJsonTokenizer.load(tokenizer));
        ImportedEncoder encoder = SourceModel.imported(from, () -> OnnxBertImport.read(file));
        requireSameVocabulary(tok, tokenizer, encoder, file);
        return new EncoderSource(encoder, tok, file.toString(), SourceModel.sha256(file));
    }

    /** A Hugging Face BERT directory; its tokenizer.json unless --tokenizer names another. */
    private static EncoderSource fromHuggingFace(String from, Path tokenizer) {
        Path dir = Path.of(from.substring(SourceModel.HF_PREFIX.length()));
        Path tokFile = tokenizer != null ? tokenizer : dir.resolve("tokenizer.json");
        HfJsonTokenizer tok = SourceModel.imported(from, () -> HfJsonTokenizer.load(tokFile));
        ImportedEncoder encoder = SourceModel.imported(from, () -> SafetensorsBertImport.load(dir));
        Path weights = dir.resolve(SafetensorsBertImport.WEIGHTS_FILE);
        requireSameVocabulary(tok, tokFile, encoder, weights);
        return new EncoderSource(encoder, tok, weights.toString(), SourceModel.sha256(weights));
    }

    /**
     * True for a run directory whose model.onnx is an encoder classifier's (finetune --from
     * onnx:FILE --task classify), which {@code finetune --task classify} continues.
     */
    static boolean isEncoderClassifierRun(String from) {
        Path model = Path.of(from).resolve(ModelExport.FILE_NAME);
        if (from.contains(":") || !Files.isRegularFile(model)) {
            return false;
        }
        Map<String, String> meta = SourceModel.readExport(Path.of(from), model).meta();
        return ClassifierExport.CLASSIFY.equals(meta.get(ClassifierExport.TASK)) && "bert".equals(meta.get("troupe.arch"));
    }

    /**
     * An encoder classifier's run directory, continued by {@code finetune --task classify}: the
     * encoder's shape from {@code troupe.encoder}, every parameter (body and head), the head and
     * labels, and the run's tokenizer.json.
     */
    private static EncoderSource fromClassifierRun(Path dir) {
        Path model = dir.resolve(ModelExport.FILE_NAME);
        SourceModel.Export export = SourceModel.readExport(dir, model);
        String json = export.meta().get(ClassifierExport.ENCODER);
        if (json == null) {
            throw UserError.inputData("--from " + dir + " is an encoder classifier exported without its full shape ("
                    + ClassifierExport.ENCODER + "); fine-tune again from the encoder (onnx:FILE or hf:DIR) on the"
                    + " original data plus the new");
        }
        EncoderConfig cfg;
        try {
            @SuppressWarnings("unchecked")
            Map<String, Object> map = new ObjectMapper().readValue(json, Map.class);
            cfg = EncoderConfig.fromMap(map);
        } catch (IOException | IllegalArgumentException e) {
            throw UserError.inputData("--from " + dir + ": " + model + " has an unreadable " + ClassifierExport.ENCODER
                    + " (" + e.getMessage() + ")", e);
        }
        SourceModel.Classifier classifier = SourceModel.classifierOf(dir, model, export.meta());
        float[] params = SourceModel.parametersOf(ClassifierGraphs.layout(cfg, classifier.head()), export.weights(), model);
        HfJsonTokenizer tok = SourceModel.imported(dir.toString(), () -> HfJsonTokenizer.load(dir.resolve("tokenizer.json")));
        ImportedEncoder encoder;
        try {
            encoder = new ImportedEncoder(cfg, Arrays.copyOf(params, Math.toIntExact(cfg.layout().size())), dir.toString());
        } catch (IllegalArgumentException e) {
            throw UserError.inputData("--from " + dir + ": " + e.getMessage(), e);
        }
        requireSameVocabulary(tok, dir.resolve("tokenizer.json"), encoder, model);
        return new EncoderSource(encoder, tok, model.toString(), SourceModel.sha256(model), classifier, params);
    }

    /** True for a run directory of {@code train --arch bert}: its model.onnx is an encoder export. */
    static boolean isEncoderRun(Path dir) {
        Path model = dir.resolve(ModelExport.FILE_NAME);
        if (!Files.isDirectory(dir) || !Files.isRegularFile(model)) {
            return false;
        }
        try (InputStream in = Files.newInputStream(model)) {
            for (StringStringEntryProto p : ModelProto.parseFrom(in).getMetadataPropsList()) {
                if (p.getKey().equals(ClassifierExport.TASK)) {
                    return p.getValue().equals(EncoderExport.ENCODER);
                }
            }
            return false;
        } catch (IOException e) {
            return false;    // SourceModel reports an unreadable model.onnx
        }
    }

    /**
     * The encoder of a {@code train --arch bert} run: the body of its exported model (the MLM head
     * is left behind; a classifier puts its own head on the pooled states) and its tokenizer.
     */
    static EncoderSource fromRun(Path dir) {
        Path model = dir.resolve(ModelExport.FILE_NAME);
        SourceModel.Export export = SourceModel.readExport(dir, model);
        String configJson = export.meta().get(EncoderExport.CONFIG);
        if (configJson == null) {
            throw UserError.inputData("--from " + dir + ": " + model + " has no " + EncoderExport.CONFIG
                    + " metadata; it was exported by an older troupe: retrain, or export its checkpoint with this version");
        }
        EncoderConfig config;
        try {
            @SuppressWarnings("unchecked")
            Map<String, Object> map = new ObjectMapper().readValue(configJson, Map.class);
            config = EncoderConfig.fromMap(map).withMlmHead(false);
        } catch (IOException | IllegalArgumentException e) {
            throw UserError.inputData("--from " + dir + ": bad " + EncoderExport.CONFIG + " metadata: " + e.getMessage(), e);
        }
        float[] params = SourceModel.parametersOf(config.layout(), export.weights(), model);
        Path tokFile = dir.resolve(io.troupe.data.tokenize.Tokenizer.FILE_NAME);
        HfJsonTokenizer tok = SourceModel.imported(dir.toString(), () -> HfJsonTokenizer.load(tokFile));
        ImportedEncoder encoder = new ImportedEncoder(config, params, model.toString());
        requireSameVocabulary(tok, tokFile, encoder, model);
        return new EncoderSource(encoder, tok, model.toString(), SourceModel.sha256(model));
    }

    private static void requireSameVocabulary(HfJsonTokenizer tok, Path tokenizer, ImportedEncoder encoder, Path file) {
        if (tok.vocabSize() != encoder.config().vocabSize()) {
            throw UserError.inputData("--tokenizer " + tokenizer + " has " + tok.vocabSize() + " tokens but "
                    + file + " has " + encoder.config().vocabSize() + " embedding rows; pass the tokenizer.json that"
                    + " came with the model");
        }
    }
}
