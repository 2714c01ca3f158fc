package io.troupe.ops.cli;

import static io.troupe.ops.cli.CliRun.TEXT;
import static io.troupe.ops.cli.CliRun.troupe;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.troupe.data.tokenize.CharTokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The exit code of every command: a mistake on the command line exits 2, a bad input (a missing
 * file, a corrupt checkpoint or model directory) exits 1, and both print one line
 * {@code troupe: <what is wrong>} without a stack trace. Each case names the error it expects,
 * so a bug that happens to exit with the same code (an internal error) does not pass.
 */
class ExitCodeTest {

    @TempDir
    Path tmp;

    private Path corpus;
    private Path missing;

    @BeforeEach
    void writeCorpus() throws Exception {
        corpus = Files.writeString(tmp.resolve("corpus.txt"), TEXT);
        missing = tmp.resolve("missing.txt");
    }

    private static void usage(CliRun run, String fragment) {
        run.assertExit(TroupeCli.EXIT_USAGE).assertOneLineError(fragment);
    }

    private static void failure(CliRun run, String fragment) {
        run.assertExit(TroupeCli.EXIT_FAILURE).assertOneLineError(fragment);
    }

    /** A directory that looks like an exported model but whose model.onnx is garbage. */
    private Path corruptModelDir() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("corrupt-model"));
        Files.writeString(dir.resolve("model.onnx"), "not an ONNX model");
        Files.writeString(dir.resolve("tokenizer.json"), CharTokenizer.fromText(TEXT).toJson());
        return dir;
    }

    @Test
    void prepare() {
        usage(troupe("prepare", "--input", corpus, "--out", tmp.resolve("ds"), "--tokenizer", "char", "--threads", 0),
                "--threads must be at least 1");
        usage(troupe("prepare", "--input", corpus, "--out", tmp.resolve("ds"), "--tokenizer", "char", "--vocab-size", 300),
                "--vocab-size applies only to --tokenizer bpe");
        usage(troupe("prepare", "--input", corpus, "--out", tmp.resolve("ds"), "--on-invalid", "ignore"),
                "setting on_invalid = 'ignore' is not one of");
        failure(troupe("prepare", "--input", missing, "--out", tmp.resolve("ds"), "--tokenizer", "char"),
                missing.toString());
    }

    @Test
    void train() throws Exception {
        Path out = tmp.resolve("run");
        usage(troupe("train", "--data", corpus, "--out", out, "--steps", 0), "--steps");
        usage(troupe("train", "--data", corpus, "--out", out, "n_layer=0"), "n_layer");
        usage(troupe("train", "--data", corpus, "--out", out, "--resume", "--force"), "contradict each other");
        failure(troupe("train", "--data", missing, "--out", out), "does not exist");
        // A run directory whose only checkpoint is not a checkpoint at all.
        Files.createDirectories(out.resolve("checkpoints"));
        Files.writeString(out.resolve("checkpoints/ckpt-2.bin"), "not a checkpoint");
        failure(CliRun.trainTiny(corpus, out, 4, "--resume"), "is truncated or corrupt");
    }

    @Test
    void trainWithWorkers() {
        Path out = tmp.resolve("run");
        usage(troupe("train", "--data", corpus, "--out", out, "--workers", 2, "--wire", "fp16"), "--wire");
        usage(troupe("train", "--data", corpus, "--out", out, "--workers", 0), "--workers must be >= 1");
        failure(troupe("train", "--data", missing, "--out", out, "--workers", 2), "does not exist");
    }

    @Test
    void coordinator() throws Exception {
        usage(troupe("coordinator", "--bind", "127.0.0.1:0"), "a new job needs --workers, --data and --out");
        usage(troupe("coordinator", "--bind", "nowhere", "--workers", 1, "--data", corpus, "--out", tmp.resolve("run")),
                "--bind takes HOST:PORT");
        usage(troupe("coordinator", "--bind", "127.0.0.1:0", "--workers", 1, "--data", corpus, "--out", tmp.resolve("run"),
                "--steps", 0), "--steps");
        Path notAJob = Files.createDirectories(tmp.resolve("not-a-job"));
        failure(troupe("coordinator", "--bind", "127.0.0.1:0", "--resume", notAJob), notAJob.toString());
    }

    @Test
    void worker() {
        usage(troupe("worker", "--join", "127.0.0.1:0"), "--join needs the coordinator's real port");
        usage(troupe("worker", "--join", "127.0.0.1:http"), "--join has a port that is not a number");
        usage(troupe("worker", "--join", "127.0.0.1:2552", "--device", "tpu"), "tpu");
        // 203.0.113.0/24 (TEST-NET-3) is never an address of this machine: the node cannot bind it.
        failure(troupe("worker", "--join", "127.0.0.1:2552", "--bind", "203.0.113.7", "--insecure"),
                "cannot listen on 203.0.113.7");
    }

    @Test
    void tune() throws Exception {
        Path space = Files.writeString(tmp.resolve("space.conf"), "learning_rate { type = loguniform, low = 1e-4, high = 1e-2 }\n");
        usage(troupe("tune", "--space", space, "--data", corpus, "--out", tmp.resolve("study"), "--trials", 0, "--steps", 5),
                "--trials, --steps and --workers-per-trial must be >= 1");
        org.junit.jupiter.api.Assertions.assertFalse(Files.exists(tmp.resolve("study")), "a refused study leaves no directory");
        // Refused in a directory that was there: the directory and its files stay, the store it opened goes.
        Path mine = Files.createDirectories(tmp.resolve("mine"));
        Files.writeString(mine.resolve("notes.txt"), "mine\n");
        usage(troupe("tune", "--space", space, "--data", corpus, "--out", mine, "--trials", 0, "--steps", 5), ">= 1");
        org.junit.jupiter.api.Assertions.assertEquals(java.util.List.of(mine.resolve("notes.txt")),
                Files.list(mine).sorted().toList(), "only the user's file is left");
        usage(troupe("tune", "--space", space, "--data", corpus, "--trials", 1, "--steps", 5), "say where the run (or study) lives");
        Path empty = Files.createDirectories(tmp.resolve("empty"));
        failure(troupe("tune", "--resume", empty), "nothing to resume");
    }

    @Test
    void studyShow() throws Exception {
        usage(troupe("study", "show"), "Missing required parameter");
        Path empty = Files.createDirectories(tmp.resolve("empty"));
        usage(troupe("study", "show", empty, "--storage", "mysql://db/studies"), "--storage must be jdbc:sqlite:FILE");
        failure(troupe("study", "show", empty), "no study in " + empty);
    }

    @Test
    void export() throws Exception {
        Path run = Files.createDirectories(tmp.resolve("run"));
        Path model = tmp.resolve("model");
        usage(troupe("export", "--out", model), "Missing required option: '--run=DIR'");
        usage(troupe("export", "--run", run, "--out", model, "--checkpoint", -1), "--checkpoint must be a step >= 0");
        failure(troupe("export", "--run", missing, "--out", model), "is not a directory");
        // A run directory that saved no checkpoint yet.
        failure(troupe("export", "--run", run, "--out", model), "no checkpoints in");
        // A run directory whose only checkpoint is not a checkpoint at all.
        Files.createDirectories(run.resolve("checkpoints"));
        Files.writeString(run.resolve("checkpoints/ckpt-2.bin"), "not a checkpoint");
        failure(troupe("export", "--run", run, "--out", model), "is truncated or corrupt");
        assertFalse(Files.exists(model), "a failed export writes nothing");
    }

    @Test
    void generate() throws Exception {
        Path model = corruptModelDir();
        usage(troupe("generate", "--model", model, "--tokens", -1), "--tokens must be >= 0");
        usage(troupe("generate", "--model", model, "--top-k", -1), "--top-k must be >= 0");
        failure(troupe("generate", "--model", tmp.resolve("nowhere")), "model.onnx does not exist");
        failure(troupe("generate", "--model", model), "is not a loadable ONNX model");
    }

    @Test
    void eval() throws Exception {
        Path model = corruptModelDir();
        usage(troupe("eval", "--model", model, "--data", corpus, "--batch", 0), "--batch must be >= 1");
        failure(troupe("eval", "--model", model, "--data", corpus), "is not a loadable ONNX model");
    }

    @Test
    void gradcheck() {
        // gradcheck reads no files: its only other failure is a failed check, which needs a broken rule.
        usage(troupe("gradcheck", "--jsno"), "Unknown option: '--jsno'");
    }

    @Test
    void bench() throws Exception {
        usage(troupe("bench", "step", "--config", "huge"), "huge");
        usage(troupe("bench", "step", "--lanes", 0), "--lanes must be >= 1");
        usage(troupe("bench", "step", "--precision", "fp16"), "bench step --precision takes fp32 or bf16-storage");
        usage(troupe("bench", "step", "--precision", "fp8"), "--precision: precision must be one of");
        usage(troupe("bench", "optimizer", "--config", "huge"), "huge");
        usage(troupe("bench", "allreduce", "--workers", 1), "--workers");
        usage(troupe("bench", "gemm", "--runs", 0), "--runs must be at least 1");
        usage(troupe("bench", "tokenize", "--synthetic", "lots"), "--synthetic lots is not a size");
        failure(troupe("bench", "tokenize", "--input", missing), missing.toString());
    }
}
