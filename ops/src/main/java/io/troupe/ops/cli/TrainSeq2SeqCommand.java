package io.troupe.ops.cli;

import io.troupe.data.DataException;
import io.troupe.data.pairs.PairDataset;
import io.troupe.model.seq2seq.Seq2SeqConfig;
import io.troupe.model.seq2seq.Seq2SeqInit;
import io.troupe.worker.seq2seq.Seq2SeqModelDir;
import io.troupe.worker.seq2seq.Seq2SeqRun;
import io.troupe.worker.train.TrainSettings;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code troupe train-seq2seq}: trains an encoder-decoder ({@code --arch seq2seq}) on a dataset from
 * {@code troupe prepare --pairs} on the one step path ({@code WorkerJob}), and writes a model
 * directory {@code translate} reads. {@code --workers 1} is the local one-worker job;
 * {@code --workers N} runs a coordinator and N workers in this process, the ring over loopback,
 * exactly as {@code train --workers N} does for a GPT.
 */
@Command(name = "train-seq2seq", description = {"Train an encoder-decoder (--arch seq2seq) on a prepared pairs dataset.",
            "Length-bucketed batches; prints train and validation loss; writes a model directory for `translate`."},
        mixinStandardHelpOptions = true)
final class TrainSeq2SeqCommand implements Callable<Integer> {
    @Spec
    private CommandSpec spec;

    @Option(names = "--data", required = true, paramLabel = "DIR", description = "Dataset from `troupe prepare --pairs`.")
    private Path data;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Model directory to write.")
    private Path out;

    @Option(names = "--force", description = "Replace an existing seq2seq model in --out.")
    private boolean force;

    @Option(names = "--encoder-layers", defaultValue = "3", paramLabel = "N", description = "Encoder depth (default: ${DEFAULT-VALUE}).")
    private int encoderLayers;

    @Option(names = "--decoder-layers", defaultValue = "3", paramLabel = "N", description = "Decoder depth (default: ${DEFAULT-VALUE}).")
    private int decoderLayers;

    @Option(names = "--n-embd", defaultValue = "256", paramLabel = "C", description = "Width (default: ${DEFAULT-VALUE}).")
    private int nEmbd;

    @Option(names = "--n-head", defaultValue = "4", paramLabel = "H", description = "Attention heads (default: ${DEFAULT-VALUE}).")
    private int nHead;

    @Option(names = "--max-len", defaultValue = "64", paramLabel = "N", description = "Source and target positions (default: ${DEFAULT-VALUE}).")
    private int maxLen;

    @Option(names = "--dropout", defaultValue = "0.1", paramLabel = "P", description = "Dropout (default: ${DEFAULT-VALUE}).")
    private double dropout;

    @Option(names = "--label-smoothing", defaultValue = "0.1", paramLabel = "EPS", description = "Label smoothing (default: ${DEFAULT-VALUE}).")
    private double labelSmoothing;

    @Option(names = "--steps", defaultValue = "1000", paramLabel = "N", description = "Optimizer steps (default: ${DEFAULT-VALUE}).")
    private int steps;

    @Option(names = "--batch-size", defaultValue = "64", paramLabel = "B", description = "Pairs per batch (default: ${DEFAULT-VALUE}).")
    private int batchSize;

    @Option(names = "--lr", defaultValue = "5e-4", paramLabel = "LR", description = "Peak learning rate (default: ${DEFAULT-VALUE}).")
    private double lr;

    @Option(names = "--warmup", defaultValue = "100", paramLabel = "N", description = "Warm-up steps (default: ${DEFAULT-VALUE}).")
    private int warmup;

    @Option(names = "--eval-interval", defaultValue = "100", paramLabel = "N", description = "Steps between validation losses (default: ${DEFAULT-VALUE}).")
    private int evalInterval;

    @Option(names = "--val-batches", defaultValue = "20", paramLabel = "N", description = "Validation batches per evaluation (default: ${DEFAULT-VALUE}).")
    private int valBatches;

    @Option(names = "--seed", defaultValue = "1337", paramLabel = "S", description = "Seed (default: ${DEFAULT-VALUE}).")
    private long seed;

    @Option(names = "--snapshots", description = "Also write the model of every evaluation to OUT/snapshots/step-N"
            + " (to score a BLEU curve afterwards).")
    private boolean snapshots;

    @Option(names = "--step-times", description = "Also print each step's milliseconds and padded batch shape"
            + " (for benchmarks: bench/seq2seq-vs-pytorch.sh).")
    private boolean stepTimes;

    @Option(names = "--workers", defaultValue = "1", paramLabel = "N", description = "Workers in this process:"
            + " 1 trains locally; N > 1 runs a coordinator and N workers whose ring averages every step's"
            + " gradients (default: ${DEFAULT-VALUE}).")
    private int workers;

    @Mixin
    private ThreadsOption threads;

    @Override
    public Integer call() throws Exception {
        if (!PairDataset.isPairsDataset(data)) {
            throw UserError.usage(data + " is not a pairs dataset; make one with `troupe prepare --pairs FILE... --out DIR`");
        }
        requireFreeOut(out, force);
        PairDataset dataset;
        try {
            dataset = PairDataset.open(data);
        } catch (DataException e) {
            throw UserError.inputData(e.getMessage(), e);
        }
        if (workers < 1) {
            throw UserError.usage("--workers must be at least 1, got " + workers);
        }
        if (workers > 1 && batchSize < workers) {
            throw UserError.usage("--batch-size " + batchSize + " is smaller than --workers " + workers
                    + "; every worker needs at least one pair per step");
        }
        if (workers > 1 && snapshots) {
            throw UserError.usage("--snapshots is written by the local run only; drop it or use --workers 1");
        }
        Seq2SeqConfig cfg;
        TrainSettings settings;
        try {
            cfg = new Seq2SeqConfig(dataset.tokenizer().vocabSize(), maxLen, maxLen, encoderLayers, decoderLayers, nHead,
                    nEmbd, 4 * nEmbd, dropout, labelSmoothing);
            settings = Seq2SeqRun.settings(steps, batchSize, lr, warmup, evalInterval, valBatches, seed);
        } catch (IllegalArgumentException e) {
            throw UserError.usage(e.getMessage());
        }
        PrintWriter err = spec.commandLine().getErr();
        err.printf("seq2seq: %d+%d layers, C=%d, %d heads, vocab %d, %d parameters%n", encoderLayers, decoderLayers,
                nEmbd, nHead, cfg.vocabSize(), cfg.layout().size());
        err.flush();
        String attribution = dataset.manifest().path("attribution").asText("");
        if (workers > 1) {
            return onCluster(cfg, dataset, settings, err, attribution);
        }
        Seq2SeqRun.Result result = Seq2SeqRun.run(cfg, dataset, settings, Seq2SeqInit.initial(cfg, seed),
                threads.perLocalWorker(1), stepTimes, line -> {
            err.println(line);
            err.flush();
        }, (step, params) -> {
            if (snapshots) {
                Path dir = out.resolve("snapshots").resolve("step-" + step);
                try {
                    new Seq2SeqModelDir(cfg, params.clone(), dataset.tokenizer(), dataset.bosId(), dataset.eosId(),
                            dataset.padId(), attribution).save(dir);
                } catch (IOException | DataException e) {
                    throw new java.io.UncheckedIOException(new IOException("cannot write snapshot " + dir + ": "
                            + e.getMessage(), e));
                }
            }
        });
        new Seq2SeqModelDir(cfg, result.params(), dataset.tokenizer(), dataset.bosId(), dataset.eosId(),
                dataset.padId(), attribution).save(out);
        wrote(out, attribution, result.valLoss(), result.msPerStep(), result.paddingFraction());
        return 0;
    }

    /** --workers N: the embedded cluster ({@link Seq2SeqCluster}) from a fresh initialisation. */
    private Integer onCluster(Seq2SeqConfig cfg, PairDataset dataset, TrainSettings settings, PrintWriter err,
                              String attribution) throws IOException {
        Seq2SeqCluster.Outcome outcome = Seq2SeqCluster.train(cfg, dataset, data, settings,
                Seq2SeqInit.initial(cfg, seed), out, workers, threads.perLocalWorker(workers), stepTimes, err);
        wrote(out, attribution, outcome.valLoss(), outcome.msPerStep(), outcome.paddingFraction());
        return 0;
    }

    /** The closing line both paths print. */
    private void wrote(Path dir, String attribution, double valLoss, double msPerStep, double padding) {
        spec.commandLine().getOut().printf("wrote %s: val loss %.4f, %.0f ms/step, padding %.1f%%%s%n", dir, valLoss,
                msPerStep, 100 * padding, attribution.isEmpty() ? "" : "; data: " + attribution);
    }

    /** Refuses an {@code --out} for a seq2seq model that exists and is not empty, unless {@code force}. */
    static void requireFreeOut(Path out, boolean force) throws IOException {
        if (Files.exists(out) && !force && (Seq2SeqModelDir.isSeq2Seq(out) || hasFiles(out))) {
            throw UserError.usage(out + " already exists and is not empty; choose another --out or add --force");
        }
    }

    private static boolean hasFiles(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return true;
        }
        try (var s = Files.list(dir)) {
            return s.findAny().isPresent();
        }
    }
}
