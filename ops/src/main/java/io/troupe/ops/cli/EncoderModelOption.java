package io.troupe.ops.cli;

import io.troupe.data.DataException;
import io.troupe.ops.inference.ExportedEncoder;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/**
 * {@code --model DIR} (an encoder export) or {@code --model onnx:FILE.onnx --tokenizer
 * tokenizer.json} (a Hugging Face BERT-family ONNX export, imported on the fly): the encoder
 * {@code embed}, {@code fill-mask} and {@code pll} read.
 */
final class EncoderModelOption {
    @Option(names = "--model", required = true, paramLabel = "DIR",
            description = "An encoder's model directory (model.onnx + tokenizer.json, e.g. from troupe train --arch"
                    + " bert), or onnx:FILE.onnx, a Hugging Face BERT-family ONNX export (with --tokenizer).")
    String model;

    @Option(names = "--tokenizer", paramLabel = "FILE",
            description = "With --model onnx:FILE.onnx: the model's Hugging Face tokenizer.json.")
    Path tokenizer;

    /** Opens the encoder; {@code cls} picks [CLS] pooling for an imported one (exports say their own). */
    ExportedEncoder open(boolean cls, int threads) throws DataException {
        // A run directory of train --arch bert opens as it was exported (with its MLM head).
        if (EncoderSource.matches(model) && !EncoderSource.isEncoderRun(Path.of(model))) {
            EncoderSource source = EncoderSource.load(model, tokenizer);
            return ExportedEncoder.of(source.encoder(), source.tokenizer(), cls, threads);
        }
        if (tokenizer != null) {
            throw UserError.usage("--tokenizer goes with --model onnx:FILE.onnx; a model directory has its own");
        }
        return ExportedEncoder.open(Path.of(model), threads);
    }
}
