package io.troupe.ops.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.troupe.data.tokenize.HfJsonTokenizer;
import io.troupe.model.bert.ImportedEncoder;
import io.troupe.model.bert.OnnxBertImport;
import io.troupe.model.bert.SafetensorsBertImport;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A pretrained BERT-family encoder a fine-tuning run starts from ({@code finetune --from
 * onnx:FILE.onnx --tokenizer tokenizer.json}, or {@code --from hf:DIR} for a Hugging Face BERT
 * directory with config.json, model.safetensors and tokenizer.json): its imported shape and weights, its WordPiece
 * tokenizer, and the file it came from with its SHA-256, for summary.json.
 */
record EncoderSource(ImportedEncoder encoder, HfJsonTokenizer tokenizer, String path, String sha256) {
    static final String ONNX_PREFIX = "onnx:";

    /**
     * True for a {@code --from} that names an encoder: onnx:FILE, or hf:DIR whose config.json
     * says {@code "model_type": "bert"} (other hf: directories are GPT-2s).
     */
    static boolean matches(String from) {
        if (from.startsWith(ONNX_PREFIX)) {
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

    private static void requireSameVocabulary(HfJsonTokenizer tok, Path tokenizer, ImportedEncoder encoder, Path file) {
        if (tok.vocabSize() != encoder.config().vocabSize()) {
            throw UserError.inputData("--tokenizer " + tokenizer + " has " + tok.vocabSize() + " tokens but "
                    + file + " has " + encoder.config().vocabSize() + " embedding rows; pass the tokenizer.json that"
                    + " came with the model");
        }
    }
}
