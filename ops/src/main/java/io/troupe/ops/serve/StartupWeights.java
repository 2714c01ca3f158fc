package io.troupe.ops.serve;

import io.troupe.worker.run.ModelExport;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/**
 * How much work each start-up phase is, in bytes of the graphs it opens, so that a progress
 * display can turn the time the first phases took into an estimate of what is left: loading the
 * model reads {@code model.onnx} (or, for other kinds of export, all their graphs), the decoding
 * sessions read {@code decoder.onnx}, and the warm-up counts as a twentieth of both (one short
 * prompt and one step; a rough share, only for the estimate).
 */
record StartupWeights(long model, long sessions, long warmUp) {

    static StartupWeights of(Path dir) {
        Path main = dir.resolve(ModelExport.FILE_NAME);
        long model = Files.isRegularFile(main) ? size(main) : allGraphs(dir);
        Path decoder = dir.resolve(ModelExport.DECODER_FILE_NAME);
        long sessions = Files.isRegularFile(decoder) ? size(decoder) : 0;
        return new StartupWeights(Math.max(1, model), sessions, Math.max(1, (model + sessions) / 20));
    }

    long total() {
        return model + sessions + warmUp;
    }

    private static long size(Path file) {
        try {
            return Files.size(file);
        } catch (IOException e) {
            return 0; // only an estimate; opening the file reports the real problem
        }
    }

    private static long allGraphs(Path dir) {
        try (Stream<Path> files = Files.walk(dir, 2)) {
            return files.filter(f -> f.toString().endsWith(".onnx")).mapToLong(StartupWeights::size).sum();
        } catch (IOException e) {
            return 0;
        }
    }
}
