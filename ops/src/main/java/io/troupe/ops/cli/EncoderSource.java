package io.troupe.ops.cli;

import io.troupe.data.DataException;
import io.troupe.data.tokenize.HfJsonTokenizer;
import io.troupe.model.bert.ImportedEncoder;
import io.troupe.model.bert.OnnxBertImport;
import io.troupe.model.io.ModelFileException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A pretrained BERT-family encoder a fine-tuning run starts from ({@code finetune --from
 * onnx:FILE.onnx --tokenizer tokenizer.json}): its imported shape and weights, its WordPiece
 * tokenizer, and the file it came from with its SHA-256, for summary.json.
 */
record EncoderSource(ImportedEncoder encoder, HfJsonTokenizer tokenizer, String path, String sha256) {
    static final String ONNX_PREFIX = "onnx:";

    /** True for a {@code --from} that names an encoder. */
    static boolean matches(String from) {
        return from.startsWith(ONNX_PREFIX);
    }

    /**
     * Imports {@code from} (onnx:FILE) with the tokenizer.json at {@code tokenizer}.
     *
     * @throws UserError when a file is missing, unreadable, not a BERT-family encoder, or the
     *     tokenizer's vocabulary does not match the embedding rows
     */
    static EncoderSource load(String from, Path tokenizer) {
        Path file = Path.of(from.substring(ONNX_PREFIX.length()));
        if (!Files.isRegularFile(file)) {
            throw UserError.inputData("--from " + from + ": " + file + " is not a file; give the .onnx export of a"
                    + " BERT-family encoder (see README: all-MiniLM-L6-v2)");
        }
        if (tokenizer == null) {
            throw UserError.usage("--from " + from + " needs --tokenizer tokenizer.json (the encoder's Hugging Face"
                    + " tokenizer)");
        }
        HfJsonTokenizer tok;
        ImportedEncoder encoder;
        try {
            tok = HfJsonTokenizer.load(tokenizer);
            encoder = OnnxBertImport.read(file);
        } catch (ModelFileException | DataException e) {
            throw UserError.inputData("--from " + from + ": " + e.getMessage(), e);
        }
        if (tok.vocabSize() != encoder.config().vocabSize()) {
            throw UserError.inputData("--tokenizer " + tokenizer + " has " + tok.vocabSize() + " tokens but "
                    + file + " has " + encoder.config().vocabSize() + " embedding rows; pass the tokenizer.json that"
                    + " came with the model");
        }
        return new EncoderSource(encoder, tok, file.toString(), SourceModel.sha256(file));
    }
}
