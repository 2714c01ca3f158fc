package io.troupe.ops.cli;

import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import io.troupe.data.DataException;
import io.troupe.data.io.AtomicFiles;
import io.troupe.data.io.FileTrees;
import io.troupe.data.tokenize.Tokenizer;
import io.troupe.model.gpt.GptConfig;
import io.troupe.model.gpt.ParameterLayout;
import io.troupe.worker.checkpoint.Checkpoint;
import io.troupe.worker.checkpoint.CheckpointException;
import io.troupe.worker.checkpoint.CheckpointStore;
import io.troupe.worker.run.ModelExport;
import io.troupe.worker.train.TrainSettings;
import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.OptionalLong;

/**
 * Turns one checkpoint of a run into the files a finished run ends with, {@code model.onnx} and
 * {@code tokenizer.json}, so an interrupted run can be sampled and scored. The model is written by
 * {@link ModelExport}, as at the end of training, so the same parameters give the same bytes.
 */
final class CheckpointExport {
    private static final String TOKENIZER = "tokenizer.json";

    /** What was exported: the checkpoint's step and file, and the model written. */
    record Result(long step, Path checkpoint, Path model) {
    }

    private CheckpointExport() {
    }

    /**
     * Exports checkpoint {@code step} of {@code run} (the newest when empty) into {@code out}.
     *
     * <p>A new {@code out} is built in a temporary sibling directory and renamed into place; into
     * an existing directory, tokenizer.json and then model.onnx are each replaced atomically.
     *
     * @throws UserError if the run has no such checkpoint, it is corrupt, or {@code out} already
     *     holds a model and {@code force} is false
     */
    static Result export(Path run, OptionalLong step, Path out, boolean force) throws IOException {
        if (!Files.isDirectory(run)) {
            throw UserError.inputData("--run " + run + " is not a directory; pass the --out directory of a training run");
        }
        CheckpointStore store = new CheckpointStore(run, 1);
        List<Path> files = listed(store);
        if (files.isEmpty()) {
            throw UserError.inputData("no checkpoints in " + store.directory() + ": the run saved none yet"
                    + " (checkpoints are written every checkpoint_interval steps and when a run is stopped)");
        }
        Path file = step.isPresent() ? store.pathOf(step.getAsLong()) : files.get(0);
        if (!files.contains(file)) {
            throw UserError.inputData("no checkpoint " + step.getAsLong() + " in " + store.directory() + "; it holds steps "
                    + files.stream().map(CheckpointStore::step).sorted().toList());
        }
        Path model = out.resolve(ModelExport.FILE_NAME);
        if (Files.exists(out) && !Files.isDirectory(out)) {
            throw UserError.inputData("--out " + out + " is a file, not a directory; choose another path");
        }
        if (Files.exists(model) && !force) {
            throw UserError.inputData(model + " already exists; pass --force to replace it, or choose another --out");
        }
        Checkpoint checkpoint = load(file, step.isEmpty() && files.size() > 1);
        GptConfig config = modelOf(checkpoint, file);
        Tokenizer tokenizer = tokenizerOf(checkpoint, file, config);
        if (Files.isDirectory(out)) {
            // Tokenizer first: model.onnx is what marks a directory as an export, so it comes last.
            AtomicFiles.writeString(out.resolve(TOKENIZER), tokenizer.toJson() + "\n");
            ModelExport.write(out, config, checkpoint.parameters());
        } else {
            writeNewDirectory(out, config, checkpoint, tokenizer);
        }
        return new Result(checkpoint.trainingStep(), file, model);
    }

    private static void writeNewDirectory(Path out, GptConfig config, Checkpoint checkpoint, Tokenizer tokenizer)
            throws IOException {
        Path absolute = out.toAbsolutePath();
        Path parent = absolute.getParent();
        Files.createDirectories(parent);
        Path staging = Files.createTempDirectory(parent, "." + absolute.getFileName() + ".export-");
        try {
            AtomicFiles.writeString(staging.resolve(TOKENIZER), tokenizer.toJson() + "\n");
            ModelExport.write(staging, config, checkpoint.parameters());
            try {
                Files.move(staging, absolute, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(staging, absolute);
            }
            AtomicFiles.fsyncDirectory(parent);
        } finally {
            FileTrees.deleteRecursively(staging); // gone after the move; left only by a failure
        }
    }

    private static List<Path> listed(CheckpointStore store) {
        try {
            return store.list();
        } catch (CheckpointException e) {
            throw UserError.inputData(e.getMessage(), e);
        }
    }

    private static Checkpoint load(Path file, boolean olderExist) {
        try {
            return CheckpointStore.load(file);
        } catch (CheckpointException e) {
            throw UserError.inputData(e.getMessage() + (olderExist ? "; pass --checkpoint N to export an older one" : ""), e);
        }
    }

    /** The model shape the checkpoint was trained with, read from the config it stores. */
    static GptConfig modelOf(Checkpoint checkpoint, Path file) {
        GptConfig config;
        try {
            var stored = ConfigFactory.parseString(checkpoint.config());
            TrainSettings settings = TrainSettings.from(
                    stored.withFallback(ConfigFactory.defaultReference().getConfig("troupe.train")).resolve());
            if (settings.isEncoder()) {
                throw UserError.inputData("checkpoint " + file + " is of an encoder (arch = bert), and this reads GPT"
                        + " checkpoints; finish the run with troupe train --resume (same options), which exports its"
                        + " model.onnx for fill-mask, embed and finetune --from RUN");
            }
            config = settings.model(stored.getInt("vocab_size"));
        } catch (ConfigException | IllegalArgumentException e) {
            throw UserError.inputData("checkpoint " + file + " holds a config Troupe cannot read (" + e.getMessage()
                    + "); it was not written by this version of troupe train", e);
        }
        long expected = ParameterLayout.of(config).size();
        if (checkpoint.parameters().length < expected) {
            // troupe finetune checkpoints only what trains (a LoRA adapter, unfrozen blocks, a
            // head); the frozen rest lives in the source model, so no model can be rebuilt here.
            throw UserError.inputData("checkpoint " + file + " holds " + checkpoint.parameters().length + " of the model's "
                    + expected + " parameters: it is a troupe finetune checkpoint, which keeps only the trained part;"
                    + " troupe export cannot rebuild the model from it. Finish the run with troupe finetune --resume"
                    + " (same options), which writes model.onnx (and adapter.safetensors for LoRA) into its --out");
        }
        if (checkpoint.parameters().length != expected) {
            throw UserError.inputData("checkpoint " + file + " holds " + checkpoint.parameters().length + " parameters but its"
                    + " config describes a model of " + expected + "; the checkpoint is corrupt");
        }
        return config;
    }

    static Tokenizer tokenizerOf(Checkpoint checkpoint, Path file, GptConfig config) {
        Tokenizer tokenizer;
        try {
            tokenizer = Tokenizer.fromJson(checkpoint.tokenizer());
        } catch (DataException e) {
            throw UserError.inputData("checkpoint " + file + " holds an unreadable tokenizer: " + e.getMessage(), e);
        }
        if (tokenizer.vocabSize() != config.vocabSize()) {
            throw UserError.inputData("checkpoint " + file + " holds a tokenizer of " + tokenizer.vocabSize()
                    + " tokens for a model of " + config.vocabSize() + "; the checkpoint is corrupt");
        }
        return tokenizer;
    }
}
