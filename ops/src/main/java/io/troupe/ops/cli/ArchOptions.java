package io.troupe.ops.cli;

import io.troupe.data.DataException;
import io.troupe.data.source.DataSource;
import io.troupe.data.tokenize.HfJsonTokenizer;
import io.troupe.worker.bert.MlmBatches;
import io.troupe.worker.train.TrainSettings;
import java.nio.file.Path;
import java.util.Map;
import picocli.CommandLine.Option;

/**
 * Which model family a run trains ({@code --arch gpt|bert}) and, for a text file, the tokenizer
 * an encoder needs ({@code --tokenizer tokenizer.json}): {@code train} and {@code coordinator}
 * take both.
 */
final class ArchOptions {
    @Option(names = "--arch", paramLabel = "gpt|bert",
            description = {"Model family: gpt (next-token) or bert (a BERT-style encoder pretrained as a masked",
                "language model: 15%% of tokens chosen per draw, 80/10/10; needs a WordPiece tokenizer with [MASK]).",
                "Sets the arch setting; the bert-tiny and bert-small presets set it too (default: the preset's).",
                "An encoder-decoder (seq2seq) trains with `troupe train-seq2seq` on pairs from `prepare --pairs`."})
    private String arch;

    @Option(names = "--tokenizer", paramLabel = "FILE",
            description = "With --arch bert and a text file: the WordPiece tokenizer.json to tokenize it with (a"
                    + " prepared dataset brings its own).")
    private Path tokenizer;

    /** The settings of {@code training} with {@code --arch} between the preset and the key=value overrides. */
    TrainSettings settings(TrainingOptions training) {
        if ("seq2seq".equals(arch)) {
            // The encoder-decoder trains on a pairs dataset with its own options (depths per side,
            // label smoothing), so it has its own command rather than presets and key=value settings.
            throw UserError.usage("--arch seq2seq trains on a pairs dataset with its own command: troupe train-seq2seq"
                    + " --data PAIRS_DIR --out DIR [--workers N] (see 'troupe train-seq2seq --help')");
        }
        if (arch != null && !TrainSettings.GPT.equals(arch) && !TrainSettings.BERT.equals(arch)) {
            throw UserError.usage("--arch must be gpt or bert, got '" + arch + "'");
        }
        return training.settings(arch == null ? Map.of() : Map.of("arch", arch));
    }

    /**
     * The data at {@code path}, tokenized with {@code --tokenizer} when given; for an encoder,
     * checked to have the [CLS], [SEP] and [MASK] tokens MLM pretraining needs.
     */
    DataSource open(Path path, TrainSettings settings) throws DataException {
        DataSource source = DataSource.open(path);
        if (tokenizer != null) {
            if (!settings.isEncoder()) {
                throw UserError.usage("--tokenizer applies to --arch bert; a GPT takes its tokenizer from the data"
                        + " (troupe prepare --tokenizer char|gpt2|bpe)");
            }
            HfJsonTokenizer tok;
            try {
                tok = HfJsonTokenizer.load(tokenizer);
            } catch (DataException e) {
                throw UserError.inputData("--tokenizer " + tokenizer + ": " + e.getMessage(), e);
            }
            source = source.withTokenizer(tok, "--tokenizer " + tokenizer);
        }
        if (settings.isEncoder()) {
            try {
                MlmBatches.of(source.tokenizer(), settings.seed());
            } catch (IllegalArgumentException e) {
                throw UserError.inputData("--data " + path + ": " + e.getMessage(), e);
            }
            if (settings.blockSize() < 3) {
                throw UserError.usage("--arch bert needs block_size >= 3 ([CLS], tokens, [SEP]), got "
                        + settings.blockSize());
            }
        }
        return source;
    }
}
