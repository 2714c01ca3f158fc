package io.troupe.ops.cli;

import ai.onnxruntime.OrtException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.troupe.data.DataException;
import io.troupe.ops.inference.ExportedEncoder;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code troupe embed}: one sentence vector per stdin line, as JSON lines, from any BERT-style encoder. */
@Command(name = "embed", description = {"Embed texts with a BERT-style encoder: reads one text per stdin line and"
            + " prints one JSON object per line, {\"text\", \"embedding\": [C floats]}: the final hidden states"
            + " pooled over the text's tokens (mean, or [CLS] with --pooling cls).",
            "Texts longer than the model's position table are cut; stderr says how many."},
        mixinStandardHelpOptions = true)
final class EmbedCommand implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Spec
    private CommandSpec spec;

    @Mixin
    private EncoderModelOption model;

    @Option(names = "--pooling", defaultValue = "mean", paramLabel = "P",
            description = "mean or cls, for --model onnx:FILE (an export says its own) (default: ${DEFAULT-VALUE}).")
    private String pooling;

    @Option(names = "--normalize", description = "Scale every vector to unit length (for cosine similarity).")
    private boolean normalize;

    @Mixin
    private ThreadsOption threads;

    @Override
    public Integer call() throws DataException, OrtException, IOException {
        if (!pooling.equals("mean") && !pooling.equals("cls")) {
            throw UserError.usage("--pooling must be mean or cls, got '" + pooling + "'");
        }
        List<String> texts = new ArrayList<>();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        for (String line = in.readLine(); line != null; line = in.readLine()) {
            if (!line.isBlank()) {
                texts.add(line);
            }
        }
        try (ExportedEncoder encoder = model.open(pooling.equals("cls"), threads.threads())) {
            float[][] vectors = encoder.embed(texts);
            PrintWriter out = spec.commandLine().getOut();
            for (int i = 0; i < texts.size(); i++) {
                float[] v = vectors[i];
                double norm = 0;
                for (float x : v) {
                    norm += x * x;
                }
                double scale = normalize && norm > 0 ? 1 / Math.sqrt(norm) : 1;
                ObjectNode o = JSON.createObjectNode().put("text", texts.get(i));
                ArrayNode arr = o.putArray("embedding");
                for (float x : v) {
                    arr.add((float) (x * scale));
                }
                Json.printLine(out, o);
            }
            out.flush();
            if (encoder.truncated() > 0) {
                spec.commandLine().getErr().println("troupe: note: " + encoder.truncated() + " of " + texts.size()
                        + " texts were longer than the model's position table and were cut");
            }
        }
        return TroupeCli.EXIT_OK;
    }
}
