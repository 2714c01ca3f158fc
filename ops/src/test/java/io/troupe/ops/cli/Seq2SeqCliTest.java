package io.troupe.ops.cli;

import static io.troupe.ops.cli.CliRun.troupe;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Bad input to `train-seq2seq` and `translate`: one line naming the problem, exit 2 for usage, 1 for damaged files. */
class Seq2SeqCliTest {
    @TempDir
    Path tmp;

    @Test
    void translateRefusesANonSeq2SeqModelAndADamagedOne() throws Exception {
        Path gpt = Files.createDirectories(tmp.resolve("gpt"));
        Files.writeString(gpt.resolve("model.onnx"), "an exported GPT");
        troupe("translate", "--model", gpt, "--text", "Hello.").assertExit(TroupeCli.EXIT_USAGE)
                .assertOneLineError("is not a seq2seq model");
        Path damaged = Files.createDirectories(tmp.resolve("damaged"));
        Files.writeString(damaged.resolve("seq2seq.json"), "{\"format\": \"troupe-seq2seq\", \"config\": {\"vocabSize\": 5,"
                + " \"maxSource\": 4, \"maxTarget\": 4, \"encoderLayers\": 1, \"decoderLayers\": 1, \"nHead\": 1,"
                + " \"nEmbd\": 4, \"nInner\": 8, \"dropout\": 0, \"labelSmoothing\": 0}}");
        Files.write(damaged.resolve("params.bin"), new byte[12]);
        troupe("translate", "--model", damaged, "--text", "Hello.").assertExit(TroupeCli.EXIT_FAILURE)
                .assertOneLineError("the model directory is damaged");
    }

    @Test
    void trainSeq2seqNeedsAPairsDataset() {
        troupe("train-seq2seq", "--data", tmp, "--out", tmp.resolve("m")).assertExit(TroupeCli.EXIT_USAGE)
                .assertOneLineError("is not a pairs dataset");
    }

    @Test
    void trainArchSeq2seqNamesTheSeq2seqCommand() {
        troupe("train", "--arch", "seq2seq", "--data", tmp, "--out", tmp.resolve("m")).assertExit(TroupeCli.EXIT_USAGE)
                .assertOneLineError("--arch seq2seq trains on a pairs dataset with its own command: troupe train-seq2seq");
        Assertions.assertFalse(Files.exists(tmp.resolve("m")), "a refused run writes nothing");
    }
}
