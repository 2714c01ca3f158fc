package io.troupe.ops.cli;

import static io.troupe.ops.cli.CliRun.troupe;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.troupe.data.labelled.LabelSet;
import io.troupe.model.bert.EncoderConfig;
import io.troupe.model.gpt.ClassifierGraphs;
import io.troupe.model.gpt.ClassifierHead;
import io.troupe.model.gpt.ParameterInit;
import io.troupe.model.gpt.Pooling;
import io.troupe.worker.run.ClassifierExport;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code finetune --task classify --from RUN} where RUN is an encoder (BERT) classifier, as
 * {@code finetune --from onnx:FILE} writes one: its body, head, pooling and labels continue.
 */
class FinetuneEncoderClassifierTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final EncoderConfig CFG = new EncoderConfig(12, 16, 2, 1, 2, 8, 16, 0.0, false, "none", 1e-12, false);
    private static final List<String> RECIPE = List.of("batch_size=4", "eval_iters=1", "eval_interval=2",
            "log_interval=1", "warmup_iters=1", "lr_decay_iters=4");

    @TempDir
    Path tmp;

    /** A tiny encoder classifier run directory, written as finetune --from onnx:FILE writes one. */
    private Path encoderClassifierRun(float[] p, ClassifierHead head) throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("run"));
        ClassifierExport.write(dir, CFG, head, p, LabelSet.of("neg", "pos"), "2 3");
        Files.writeString(dir.resolve("tokenizer.json"), EncoderCommandsTest.TOKENIZER);
        return dir;
    }

    @Test
    void anEncoderClassifierRunContinuesWithItsWeightsPoolingAndLabels() throws Exception {
        ClassifierHead head = new ClassifierHead(2, Pooling.CLS);
        float[] p = ParameterInit.gpt2(CFG, ClassifierGraphs.layout(CFG, head), 3);
        Random r = new Random(4);
        for (int i = 0; i < p.length; i++) {
            p[i] += (float) (0.1 * r.nextGaussian());
        }
        Path run = encoderClassifierRun(p, head);
        Path feedback = Files.writeString(tmp.resolve("feedback.jsonl"), "{\"text\": \"the cat sat\", \"label\": \"pos\"}\n"
                + "{\"text\": \"the dog sat on the mat\", \"label\": \"pos\"}\n{\"text\": \"the mat\", \"label\": \"pos\"}\n");
        Path same = tmp.resolve("same");
        troupe("finetune", "--from", run, "--task", "classify", "--data", feedback, "--out", same, "--steps", 2,
                "--threads", 1, RECIPE, "learning_rate=0", "min_lr=0").assertOk();
        EncoderSource kept = EncoderSource.load(same.toString(), null);
        assertArrayEquals(p, kept.classifierParameters(), "at rate 0 the export is the run's classifier, head included");
        assertEquals(Pooling.CLS, kept.classifier().head().pooling(), "the run's pooling, not the encoder default (mean)");
        assertEquals(List.of("neg", "pos"), kept.classifier().labels().names());

        Path continued = tmp.resolve("continued");
        troupe("finetune", "--from", run, "--task", "classify", "--data", feedback, "--out", continued, "--steps", 3,
                "--threads", 1, RECIPE, "learning_rate=1e-2", "min_lr=1e-3").assertOk();
        float[] after = EncoderSource.load(continued.toString(), null).classifierParameters();
        assertFalse(java.util.Arrays.equals(p, after), "it trained");
        JsonNode summary = JSON.readTree(continued.resolve("summary.json").toFile());
        assertTrue(summary.get("continued_classifier").asBoolean(), summary.toString());
        assertEquals("bert", summary.get("arch").asText());
        troupe("predict", "--model", continued, "--text", "the cat").assertOk();

        Path bad = tmp.resolve("bad");
        Path unknown = Files.writeString(tmp.resolve("unknown.tsv"), "the cat\tpos\nthe dog\tangry\n");
        troupe("finetune", "--from", run, "--task", "classify", "--data", unknown, "--out", bad, RECIPE)
                .assertOneLineError("unknown label 'angry'").assertExit(1);
        troupe("finetune", "--from", run, "--task", "classify", "--tokenizer", run.resolve("tokenizer.json"), "--data",
                feedback, "--out", bad, RECIPE).assertOneLineError("brings its own tokenizer").assertExit(2);
        troupe("finetune", "--from", run, "--data", feedback, "--out", bad, RECIPE)
                .assertOneLineError("use --task classify").assertExit(2);
        assertFalse(Files.exists(bad));
    }
}
