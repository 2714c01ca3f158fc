package io.troupe.ops.cli;

import ai.onnxruntime.OrtException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.troupe.data.DataException;
import io.troupe.ops.inference.ExportedClassifier;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code troupe predict}: the label of a text (or of each stdin line) by a fine-tuned classifier. */
@Command(name = "predict", description = {"Classify texts with a model from troupe finetune --task classify.",
            "Prints each text's label and the probability of every label; without --text, classifies each line of"
                + " stdin. With --json, one object per text: {\"text\", \"label\", \"probabilities\": {label: p}}."},
        mixinStandardHelpOptions = true)
final class PredictCommand implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Spec
    private CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "DIR",
            description = "Directory with model.onnx, tokenizer.json and labels.json (the --out of finetune --task classify).")
    private Path model;

    @Option(names = "--text", paramLabel = "TEXT", description = "The text to classify (default: every line of stdin).")
    private String text;

    @Mixin
    private ThreadsOption threads;

    @Mixin
    private JsonOption json;

    @Override
    public Integer call() throws DataException, OrtException, IOException {
        if (text != null && text.isBlank()) {
            throw UserError.usage("--text is empty; pass the text to classify");
        }
        try (ExportedClassifier classifier = ExportedClassifier.open(model, threads.threads())) {
            List<String> texts = new ArrayList<>();
            if (text != null) {
                texts.add(text);
            } else {
                BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
                for (String line = in.readLine(); line != null; line = in.readLine()) {
                    if (!line.isBlank()) {
                        texts.add(line);
                    }
                }
            }
            float[][] probabilities = classifier.probabilities(texts);
            PrintWriter out = spec.commandLine().getOut();
            for (int i = 0; i < texts.size(); i++) {
                float[] p = probabilities[i];
                String label = classifier.labels().name(ExportedClassifier.argmax(p));
                if (json.enabled()) {
                    ObjectNode o = JSON.createObjectNode().put("text", texts.get(i)).put("label", label);
                    ObjectNode probs = o.putObject("probabilities");
                    for (int k = 0; k < p.length; k++) {
                        probs.put(classifier.labels().name(k), p[k]);
                    }
                    Json.printLine(out, o);
                } else {
                    StringBuilder line = new StringBuilder(label).append('\t');
                    for (int k = 0; k < p.length; k++) {
                        line.append(k == 0 ? "" : " ").append(classifier.labels().name(k)).append('=')
                                .append(String.format(Locale.ROOT, "%.4f", p[k]));
                    }
                    if (text == null) {
                        line.append('\t').append(texts.get(i));
                    }
                    out.println(line);
                }
            }
            out.flush();
        }
        return TroupeCli.EXIT_OK;
    }
}
