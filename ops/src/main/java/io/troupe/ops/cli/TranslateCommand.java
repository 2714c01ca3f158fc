package io.troupe.ops.cli;

import io.troupe.data.DataException;
import io.troupe.ops.translate.CorpusBleu;
import io.troupe.ops.translate.CorpusChrf;
import io.troupe.ops.translate.GreedyTranslator;
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

/** {@code troupe translate}: greedy translation with a model from {@code train-seq2seq}. */
@Command(name = "translate", description = {"Translate with an encoder-decoder model directory (greedy decoding).",
            "Translates --text, or else each line of stdin to a line of stdout."}, mixinStandardHelpOptions = true)
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
    private ThreadsOption threads;

    @Override
    public Integer call() throws Exception {
        if (!Seq2SeqModelDir.isSeq2Seq(model)) {
            throw UserError.usage(model + " is not a seq2seq model (no " + Seq2SeqModelDir.CONFIG + "); GPT and"
                    + " encoder-only models cannot translate: train one with `troupe train-seq2seq`");
        }
        Seq2SeqModelDir dir;
        try {
            dir = Seq2SeqModelDir.load(model);
        } catch (DataException e) {
            throw UserError.inputData(e.getMessage(), e);   // a damaged model directory, not a usage mistake
        }
        PrintWriter out = spec.commandLine().getOut();
        try (GreedyTranslator translator = new GreedyTranslator(dir, threads.threads())) {
            if (text != null) {
                out.println(translator.translate(text));
            } else {
                List<String> hyps = new ArrayList<>();
                BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
                for (String line = in.readLine(); line != null; line = in.readLine()) {
                    String hyp = translator.translate(line);
                    hyps.add(hyp);
                    out.println(hyp);
                    out.flush();
                }
                if (refs != null) {
                    score(hyps);
                }
            }
            out.flush();
            if (translator.truncatedSources() > 0) {
                spec.commandLine().getErr().printf("%d source(s) longer than the model's %d positions were cut%n",
                        translator.truncatedSources(), dir.config().maxSource());
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
