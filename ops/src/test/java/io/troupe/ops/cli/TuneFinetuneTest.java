package io.troupe.ops.cli;

import static io.troupe.ops.cli.CliRun.TEXT;
import static io.troupe.ops.cli.CliRun.trainTiny;
import static io.troupe.ops.cli.CliRun.troupe;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.troupe.tuner.run.StudyHome;
import io.troupe.tuner.store.JdbcStudyStore;
import io.troupe.tuner.store.StudyStore;
import io.troupe.tuner.store.TrialRecord;
import io.troupe.tuner.store.TrialState;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code troupe tune --finetune-from}: a study over fine-tuning settings whose objective is validation accuracy. */
class TuneFinetuneTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String SPACE = """
            fixed { n_layer = 1, n_head = 2, n_embd = 16, block_size = 16, batch_size = 4, eval_iters = 2,
                    eval_interval = 3, warmup_iters = 1 }
            params {
              learning_rate { type = log, min = 1e-3, max = 3e-2 }
              lr_body_scale { type = float, min = 0.1, max = 1.0 }
            }
            """;

    @TempDir
    static Path shared;
    private static Path pretrained;
    private static Path labelled;
    private static Path space;

    @TempDir
    Path tmp;

    @BeforeAll
    static void pretrain() throws Exception {
        Path corpus = Files.writeString(shared.resolve("corpus.txt"), TEXT);
        pretrained = shared.resolve("pretrained");
        trainTiny(corpus, pretrained, 3).assertOk();
        String[] words = {"the", "king", "queen", "shall", "not", "go", "with", "thee"};
        Random r = new Random(4);
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < 40; i++) {
            boolean pos = i % 2 == 0;
            s.append(words[r.nextInt(words.length)]).append(' ').append(words[r.nextInt(words.length)])
                    .append(pos ? " love" : " war").append('\t').append(pos ? "pos" : "neg").append('\n');
        }
        labelled = Files.writeString(shared.resolve("labelled.tsv"), s.toString());
        space = Files.writeString(shared.resolve("space.conf"), SPACE);
    }

    private static CliRun tune(Path out, Object... more) {
        return troupe("tune", "--space", space, "--data", labelled, "--out", out, "--threads", 1, List.of(more));
    }

    @Test
    void everyTrialFineTunesTheSourceAndReportsItsValidationError() throws Exception {
        Path study = tmp.resolve("study");
        tune(study, "--finetune-from", pretrained, "--trials", 2, "--steps", 6, "--seed", 3).assertOk();
        try (StudyStore store = JdbcStudyStore.sqlite(study)) {
            List<TrialRecord> trials = store.trials(StudyHome.LOCAL_KEY);
            assertEquals(2, trials.size());
            for (TrialRecord t : trials) {
                assertEquals(TrialState.COMPLETE, t.state(), t.toString());
                assertEquals(6, t.lastStep());
                assertTrue(t.intermediate().keySet().containsAll(List.of(3L, 6L)), t.toString());
                JsonNode summary = JSON.readTree(study.resolve("trials/" + t.number() + "/summary.json").toFile());
                // The study minimises the error: its value is 1 - the trial's validation accuracy.
                assertEquals(1 - summary.get("val_accuracy").asDouble(), t.value(), 1e-9, summary.toString());
                assertEquals("accuracy", summary.get("objective").asText());
                assertEquals(((Number) t.params().get("lr_body_scale")).doubleValue(),
                        summary.get("config").get("lr_body_scale").asDouble(), 1e-12, "the trial's settings trained");
                assertEquals(pretrained.toString(), Path.of(summary.get("source").asText()).getParent().toString());
            }
        }
        // A fine-tuning study resumes only as one, with its objective.
        tune(study, "--resume").assertOneLineError("resume it with --finetune-from").assertExit(2);
        tune(study, "--resume", "--finetune-from", pretrained, "--objective", "macro_f1")
                .assertOneLineError("resume it with --objective accuracy").assertExit(2);
        tune(study, "--resume", "--finetune-from", pretrained).assertOk();
        Path f1 = tmp.resolve("f1");
        tune(f1, "--finetune-from", pretrained, "--trials", 1, "--steps", 3, "--objective", "macro_f1", "--lora-rank", 2)
                .assertOk();
        JsonNode lora = JSON.readTree(f1.resolve("trials/0/summary.json").toFile());
        assertEquals("macro_f1", lora.get("objective").asText());
        assertTrue(lora.get("trainable_parameters").asLong() < 1000, lora.toString());
        try (StudyStore store = JdbcStudyStore.sqlite(f1)) {
            TrialRecord t = store.trials(StudyHome.LOCAL_KEY).get(0);
            assertEquals(1 - lora.get("val_macro_f1").asDouble(), t.value(), 1e-9);
        }
    }

    @Test
    void fineTuningOptionsAreRefusedInOneLineWhereTheyDoNotApply() {
        Path out = tmp.resolve("bad");
        tune(out, "--trials", 1, "--steps", 3, "--objective", "accuracy")
                .assertOneLineError("pass --finetune-from SOURCE").assertExit(2);
        tune(out, "--finetune-from", pretrained, "--trials", 1, "--steps", 3, "--objective", "loss")
                .assertOneLineError("--objective must be accuracy or macro_f1").assertExit(2);
        tune(out, "--finetune-from", pretrained, "--trials", 1, "--steps", 3, "--workers", 2, "--workers-per-trial", 2)
                .assertOneLineError("drop --workers-per-trial").assertExit(2);
        tune(out, "--finetune-from", pretrained, "--trials", 1, "--steps", 3, "--lora-rank", 0)
                .assertOneLineError("--lora-rank").assertExit(2);
        assertFalse(Files.exists(out.resolve("trials")), "no trial ran");
    }
}
