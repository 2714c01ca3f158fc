package io.troupe.ops.cli;

import io.troupe.ops.translate.CorpusBleu;
import io.troupe.ops.translate.CorpusChrf;
import io.troupe.ops.translate.Seq2SeqDecoder;
import io.troupe.worker.seq2seq.Seq2SeqModelDir;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code troupe translate}: translation with a model from {@code train-seq2seq}, KV-cached. */
@Command(name = "translate", description = {"Translate with an encoder-decoder model directory.",
            "Greedy by default, --beam N for beam search, --sample for sampling; the decoder uses a KV cache and the"
                + " encoder runs once per input. Translates --text, or else streams each line of stdin to a line of"
                + " stdout."}, mixinStandardHelpOptions = true)
final class TranslateCommand implements Callable<Integer> {
    @Spec
    private CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "DIR", description = "Directory written by `troupe train-seq2seq`.")
    private Path model;

    @Option(names = "--text", paramLabel = "TEXT", description = "One sentence to translate (default: read lines from stdin).")
    private String text;

    @Option(names = "--refs", paramLabel = "FILE",
            description = "Reference translations, one per input line: prints corpus BLEU (sacreBLEU 13a), chrF and the length ratio to stderr.")
    private Path refs;

    @Mixin
    private DecodingOptions decoding;

    @Mixin
    private ThreadsOption threads;

    @Override
    public Integer call() throws Exception {
        Seq2SeqModelDir dir = DecodingOptions.loadModel(model);
        decoding.check();
        PrintWriter out = spec.commandLine().getOut();
        try (Seq2SeqDecoder decoder = new Seq2SeqDecoder(dir, threads.threads())) {
            DecodingOptions.Strategy translate = decoding.strategy(decoder);
            if (text != null) {
                out.println(translate.translate(text));
            } else {
                List<String> hyps = new ArrayList<>();
                BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
                for (String line = in.readLine(); line != null; line = in.readLine()) {
                    String hyp = translate.translate(line);
                    hyps.add(hyp);
                    out.println(hyp);
                    out.flush();
                }
                if (refs != null) {
                    score(hyps);
                }
            }
            out.flush();
            if (decoder.truncatedSources() > 0) {
                spec.commandLine().getErr().printf("%d source(s) longer than the model's %d positions were cut%n",
                        decoder.truncatedSources(), dir.config().maxSource());
            }
        }
        return 0;
    }

    private void score(List<String> hyps) throws Exception {
        List<String> ref;
        try {
            ref = Files.readAllLines(refs, StandardCharsets.UTF_8);
        } catch (java.io.IOException e) {
            throw UserError.io("cannot read --refs " + refs + ": " + e.getMessage(), e);
        }
        if (ref.size() != hyps.size()) {
            throw UserError.inputData("--refs " + refs + " has " + ref.size() + " lines but " + hyps.size()
                    + " lines were translated; give one reference per input line");
        }
        CorpusBleu.Score bleu = new CorpusBleu().score(hyps, List.of(ref));
        double chrf = new CorpusChrf().score(hyps, List.of(ref));
        spec.commandLine().getErr().printf("BLEU %.2f  chrF %.2f  length ratio %.3f  (%d lines)%n", bleu.bleu(), chrf,
                bleu.lengthRatio(), hyps.size());
    }
}
