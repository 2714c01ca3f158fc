package io.troupe.ops.cli;

import static io.troupe.ops.cli.CliRun.troupe;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * `finetune --from SEQ2SEQ_DIR`: a seq2seq model continues training on other pairs prepared with
 * its tokenizer (`prepare --pairs ... --pairs-tokenizer MODEL`), and starts from its weights.
 */
class Seq2SeqFinetuneTest {
    private static final String[] WORDS = ToyPairs.WORDS;
    private static final String[] MOTS = ToyPairs.MOTS;
    private static final Pattern VAL_LOSS = Pattern.compile("val loss (\\d+\\.\\d+)");

    @TempDir
    static Path dir;
    private static Path model;
    private static Path other;

    /** Toy English-French word-for-word pairs; {@code seed} picks the sentences. */
    private static Path pairs(String name, long seed) throws Exception {
        return ToyPairs.write(dir.resolve(name), seed);
    }

    private static double valLoss(CliRun run) {
        Matcher m = VAL_LOSS.matcher(run.out());
        assertTrue(m.find(), run::toString);
        return Double.parseDouble(m.group(1));
    }

    @BeforeAll
    static void trainOnePairsSetAndPrepareAnotherWithItsTokenizer() throws Exception {
        Path first = dir.resolve("first");
        troupe("prepare", "--pairs", pairs("first.tsv", 1), "--split", "hash-en:80/10/10", "--vocab-size", 300,
                "--attribution", "toy pairs", "--out", first).assertOk();
        model = dir.resolve("model");
        troupe("train-seq2seq", "--data", first, "--out", model, "--encoder-layers", 1, "--decoder-layers", 1,
                "--n-embd", 32, "--n-head", 2, "--max-len", 16, "--steps", 300, "--batch-size", 16, "--lr", 3e-3,
                "--warmup", 30, "--eval-interval", 300, "--val-batches", 4, "--dropout", 0, "--threads", 1).assertOk();
        other = dir.resolve("other");
        CliRun prepared = troupe("prepare", "--pairs", pairs("other.tsv", 2), "--split", "hash-en:80/10/10",
                "--pairs-tokenizer", model, "--attribution", "toy pairs", "--out", other).assertOk();
        assertTrue(prepared.out().contains("reused from"), prepared::toString);
        assertEquals(Files.readString(model.resolve("tokenizer.json")), Files.readString(other.resolve("tokenizer.json")));
    }

    @Test
    void aFineTuneStartsFromTheModelsWeightsAndBeatsTheSameStepsFromScratch() throws Exception {
        Path tuned = dir.resolve("tuned");
        CliRun finetune = troupe("finetune", "--from", model, "--data", other, "--out", tuned, "--steps", 20,
                "learning_rate=1e-3", "batch_size=16", "eval_interval=20", "eval_iters=4", "--threads", 1).assertOk();
        assertTrue(finetune.err().contains("100%"), finetune::toString); // every parameter trains
        CliRun scratch = troupe("train-seq2seq", "--data", other, "--out", dir.resolve("scratch"), "--encoder-layers", 1,
                "--decoder-layers", 1, "--n-embd", 32, "--n-head", 2, "--max-len", 16, "--steps", 20, "--batch-size", 16,
                "--lr", 1e-3, "--warmup", 2, "--eval-interval", 20, "--val-batches", 4, "--dropout", 0, "--threads", 1)
                .assertOk();
        // The same words in other sentences: the trained model starts far below a random one.
        assertTrue(valLoss(finetune) < 0.5 * valLoss(scratch),
                "fine-tuned " + valLoss(finetune) + " vs scratch " + valLoss(scratch));

        JsonNode summary = new ObjectMapper().readTree(tuned.resolve("summary.json").toFile());
        assertEquals("translate", summary.get("task").asText());
        assertEquals(summary.get("total_parameters").asLong(), summary.get("trainable_parameters").asLong());
        assertEquals(64, summary.at("/source/sha256").asText().length());
        assertEquals(20, summary.get("steps").asInt());
        troupe("translate", "--model", tuned, "--text", "the red cat", "--threads", 1).assertOk();
    }

    @Test
    void aFineTunedModelCreditsTheDataOfBothTrainings() {
        assertEquals("tatoeba.org; other corpus", Seq2SeqFinetune.credits("tatoeba.org", "other corpus"));
        assertEquals("tatoeba.org", Seq2SeqFinetune.credits("tatoeba.org", "tatoeba.org"));
        assertEquals("tatoeba.org", Seq2SeqFinetune.credits("tatoeba.org", ""));
        assertEquals("other corpus", Seq2SeqFinetune.credits("", "other corpus"));
    }

    @Test
    void whatASeq2SeqFineTuneCannotDoIsRefusedByName() throws Exception {
        troupe("finetune", "--from", model, "--data", other, "--out", dir.resolve("x1"), "--lora-rank", 4)
                .assertExit(TroupeCli.EXIT_USAGE).assertOneLineError("--lora-rank does not apply to a seq2seq model");
        troupe("finetune", "--from", model, "--data", other, "--out", dir.resolve("x2"), "--task", "classify")
                .assertExit(TroupeCli.EXIT_USAGE).assertOneLineError("use --task translate");
        troupe("finetune", "--from", model, "--data", other, "--out", dir.resolve("x3"), "n_layer=2")
                .assertExit(TroupeCli.EXIT_USAGE).assertOneLineError("does not take n_layer");
        // Pairs prepared with their own BPE cannot feed this model's embedding.
        Path ownBpe = dir.resolve("own-bpe");
        troupe("prepare", "--pairs", dir.resolve("other.tsv"), "--split", "hash-en:80/10/10", "--vocab-size", 280,
                "--attribution", "toy pairs", "--out", ownBpe).assertOk();
        troupe("finetune", "--from", model, "--data", ownBpe, "--out", dir.resolve("x4"))
                .assertExit(TroupeCli.EXIT_USAGE).assertOneLineError("another tokenizer than the model's");
        // A tokenizer that is not a pairs BPE cannot be reused.
        Path charData = dir.resolve("char");
        Path docs = Files.createDirectories(dir.resolve("docs"));
        for (int d = 0; d < 10; d++) {
            StringBuilder text = new StringBuilder();
            for (int i = 0; i < 20; i++) {
                text.append(WORDS[(d + i) % WORDS.length]).append(' ').append(MOTS[(d * 3 + i) % MOTS.length])
                        .append(" line ").append(d * 20 + i).append(".\n");
            }
            Files.writeString(docs.resolve("doc" + d + ".txt"), text);
        }
        troupe("prepare", "--input", docs, "--val-fraction", 0.3, "--out", charData).assertOk();
        troupe("prepare", "--pairs", dir.resolve("other.tsv"), "--split", "hash-en:80/10/10", "--pairs-tokenizer",
                charData, "--out", dir.resolve("x5")).assertExit(TroupeCli.EXIT_USAGE)
                .assertOneLineError("is not a pairs tokenizer");
        assertTrue(!Files.exists(dir.resolve("x1")) && !Files.exists(dir.resolve("x4")), "refusals write nothing");
    }
}
