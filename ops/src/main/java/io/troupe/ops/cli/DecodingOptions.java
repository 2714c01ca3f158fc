package io.troupe.ops.cli;

import ai.onnxruntime.OrtException;
import io.troupe.data.DataException;
import io.troupe.ops.inference.TokenSampler;
import io.troupe.ops.translate.Seq2SeqDecoder;
import io.troupe.worker.seq2seq.Seq2SeqModelDir;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** The decoding options of {@code translate} and {@code eval --task translate}: greedy, beam or sampling. */
final class DecodingOptions {
    @Option(names = "--beam", defaultValue = "1", paramLabel = "N",
            description = "Beam search with N beams (default: ${DEFAULT-VALUE}, greedy).")
    int beam;

    @Option(names = "--length-penalty", defaultValue = "1.0", paramLabel = "A",
            description = "Beam search: a finished hypothesis scores log-probability / length^A (default: ${DEFAULT-VALUE}).")
    double lengthPenalty;

    @Option(names = "--sample", description = "Sample each token instead of taking the likeliest (with --temperature, --top-k, --seed).")
    boolean sample;

    @Option(names = "--temperature", defaultValue = "1.0", paramLabel = "T", description = "Sampling temperature (default: ${DEFAULT-VALUE}).")
    double temperature;

    @Option(names = "--top-k", defaultValue = "0", paramLabel = "K", description = "Sample among the K likeliest tokens (default: ${DEFAULT-VALUE}, all).")
    int topK;

    @Option(names = "--seed", defaultValue = "1337", paramLabel = "S", description = "Sampling seed (default: ${DEFAULT-VALUE}).")
    long seed;

    /** One line in, one translation out. */
    @FunctionalInterface
    interface Strategy {
        String translate(String source) throws OrtException;
    }

    /** Refuses contradictory or out-of-range settings as usage errors. */
    void check() {
        if (beam < 1) {
            throw UserError.usage("--beam must be at least 1, got " + beam);
        }
        if (!(lengthPenalty >= 0) || Double.isInfinite(lengthPenalty)) {
            throw UserError.usage("--length-penalty must be >= 0, got " + lengthPenalty);
        }
        if (sample && beam > 1) {
            throw UserError.usage("--sample and --beam " + beam + " exclude each other; choose one");
        }
        if (sample) {
            try {
                new TokenSampler(temperature, topK, seed);
            } catch (IllegalArgumentException e) {
                throw UserError.usage(e.getMessage());
            }
        }
    }

    /** A short name of the decoding, for reports: "greedy", "beam 4 (length penalty 1.0)" or "sampling ...". */
    String describe() {
        if (sample) {
            return "sampling (temperature " + temperature + ", top-k " + topK + ", seed " + seed + ")";
        }
        return beam == 1 ? "greedy" : "beam " + beam + " (length penalty " + lengthPenalty + ")";
    }

    Strategy strategy(Seq2SeqDecoder decoder) {
        if (sample) {
            TokenSampler sampler = new TokenSampler(temperature, topK, seed);
            return source -> decoder.sample(source, sampler);
        }
        if (beam == 1) {
            return decoder::greedy;
        }
        return source -> decoder.beam(source, beam, lengthPenalty);
    }

    /** Loads a seq2seq model directory, refusing a GPT/encoder one (usage) or a damaged one (input data). */
    static Seq2SeqModelDir loadModel(Path model) {
        if (!Seq2SeqModelDir.isSeq2Seq(model)) {
            throw UserError.usage(model + " is not a seq2seq model (no " + Seq2SeqModelDir.CONFIG + "); GPT and"
                    + " encoder-only models cannot translate: train one with `troupe train-seq2seq`");
        }
        try {
            return Seq2SeqModelDir.load(model);
        } catch (DataException e) {
            throw UserError.inputData(e.getMessage(), e);   // a damaged model directory, not a usage mistake
        }
    }
}
