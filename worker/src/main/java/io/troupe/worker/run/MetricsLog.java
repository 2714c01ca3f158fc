package io.troupe.worker.run;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.troupe.data.io.AtomicFiles;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.OptionalDouble;
import java.util.stream.Collectors;

/**
 * Appends training metrics to {@code DIR/metrics.jsonl}, one JSON object per line:
 * {@code {"step":250,"time":"2026-12-06T03:40:12.345Z","elapsed_s":61.2,"train_loss":1.83,
 * "lr":0.00098,"tokens_per_s":41234.5,"mfu":0.31,"val_loss":1.97}}, {@code val_loss} only on steps that
 * evaluated, {@code mfu} (model FLOPs utilisation, see {@link io.troupe.worker.metrics.ModelFlops}) on trained steps. Each line is flushed as it is written, so a dashboard or {@code tail -f} sees it at
 * once and a crash loses at most the line being written.
 *
 * <p>{@code time} is the wall clock (ISO-8601, UTC) when the line was written. {@code elapsed_s}
 * is the run's own working time in seconds: since the log was opened for a new run, and for a
 * resumed run (see {@link #resume}) continuing from the {@code elapsed_s} of the last line it
 * keeps. So it does not count the time between a crash and its resume, nor the steps the crashed
 * run did after its checkpoint (they are redone and counted once); {@code time} shows the gaps.
 * Local runs and the coordinator share this class, so both logs read the same.
 */
public final class MetricsLog implements AutoCloseable {

    /** Name of the log file inside the run directory. */
    public static final String FILE_NAME = "metrics.jsonl";

    private static final ObjectMapper MAPPER = new ObjectMapper();

    /**
     * One line of the log.
     *
     * @param step the training step the numbers belong to
     * @param trainLoss the training loss of that step
     * @param lr the learning rate the step used
     * @param tokensPerSecond training throughput
     * @param valLoss the validation loss, when this step evaluated
     * @param mfu the step's model FLOPs utilisation, when known
     * @param valMaskedAccuracy an MLM encoder's masked-token accuracy on the val split, when this step evaluated
     * @param lossScale fp16 only: the loss scale after this step
     * @param lossScaleOverflows fp16 only: steps skipped so far because the scaled gradient overflowed
     */
    public record Entry(long step, double trainLoss, double lr, double tokensPerSecond,
            OptionalDouble valLoss, OptionalDouble mfu, OptionalDouble valMaskedAccuracy,
            java.util.OptionalLong lossScale, java.util.OptionalLong lossScaleOverflows) {

        /** An entry without loss-scale fields (an fp32 run's). */
        public Entry(long step, double trainLoss, double lr, double tokensPerSecond, OptionalDouble valLoss,
                     OptionalDouble mfu, OptionalDouble valMaskedAccuracy) {
            this(step, trainLoss, lr, tokensPerSecond, valLoss, mfu, valMaskedAccuracy, java.util.OptionalLong.empty(),
                    java.util.OptionalLong.empty());
        }

        /** An entry without masked-token accuracy (a GPT's). */
        public Entry(long step, double trainLoss, double lr, double tokensPerSecond, OptionalDouble valLoss,
                     OptionalDouble mfu) {
            this(step, trainLoss, lr, tokensPerSecond, valLoss, mfu, OptionalDouble.empty());
        }

        /** An entry without MFU. */
        public Entry(long step, double trainLoss, double lr, double tokensPerSecond, OptionalDouble valLoss) {
            this(step, trainLoss, lr, tokensPerSecond, valLoss, OptionalDouble.empty());
        }

        /** An entry without validation loss. */
        public static Entry train(long step, double trainLoss, double lr, double tokensPerSecond) {
            return new Entry(step, trainLoss, lr, tokensPerSecond, OptionalDouble.empty());
        }

        /** This entry with a validation loss. */
        public Entry withValLoss(double loss) {
            return new Entry(step, trainLoss, lr, tokensPerSecond, OptionalDouble.of(loss), mfu, valMaskedAccuracy,
                    lossScale, lossScaleOverflows);
        }

        /** This entry with an MLM's masked-token accuracy on the val split (NaN: none, left out). */
        public Entry withValMaskedAccuracy(double accuracy) {
            return new Entry(step, trainLoss, lr, tokensPerSecond, valLoss, mfu,
                    Double.isNaN(accuracy) ? OptionalDouble.empty() : OptionalDouble.of(accuracy), lossScale,
                    lossScaleOverflows);
        }

        /** This entry with the step's model FLOPs utilisation. */
        public Entry withMfu(double ratio) {
            return new Entry(step, trainLoss, lr, tokensPerSecond, valLoss, OptionalDouble.of(ratio), valMaskedAccuracy,
                    lossScale, lossScaleOverflows);
        }

        /** This entry with an fp16 run's loss scale and overflow-skip count. */
        public Entry withLossScale(long scale, long overflows) {
            return new Entry(step, trainLoss, lr, tokensPerSecond, valLoss, mfu, valMaskedAccuracy,
                    java.util.OptionalLong.of(scale), java.util.OptionalLong.of(overflows));
        }
    }

    private final Path file;
    private final BufferedWriter writer;
    private final Clock clock;
    private final Instant opened;
    private final double elapsedBefore;

    private MetricsLog(Path file, BufferedWriter writer, Clock clock, double elapsedBefore) {
        this.file = file;
        this.writer = writer;
        this.clock = clock;
        this.opened = clock.instant();
        this.elapsedBefore = elapsedBefore;
    }

    /**
     * Opens {@code dir/metrics.jsonl} for appending, creating the directory and file if needed.
     *
     * @throws IOException if the file cannot be opened
     */
    public static MetricsLog open(Path dir) throws IOException {
        return open(dir, Clock.systemUTC());
    }

    /** {@link #open(Path)} with the clock that stamps {@code time} and measures {@code elapsed_s}. */
    public static MetricsLog open(Path dir, Clock clock) throws IOException {
        return open(dir, clock, 0);
    }

    private static MetricsLog open(Path dir, Clock clock, double elapsedBefore) throws IOException {
        Path file = dir.resolve(FILE_NAME);
        try {
            Files.createDirectories(dir);
            return new MetricsLog(file, Files.newBufferedWriter(file, StandardCharsets.UTF_8,
                    StandardOpenOption.CREATE, StandardOpenOption.APPEND), clock, elapsedBefore);
        } catch (IOException e) {
            throw new IOException("cannot open metrics log " + file + ": " + e, e);
        }
    }

    /**
     * Opens the log of a run that resumes after {@code step}: lines for later steps (written
     * after the checkpoint by the run that crashed) and a partly written last line are dropped
     * first, so the resumed run's lines continue the curve without duplicates. Its
     * {@code elapsed_s} continues from the last kept line's (0 if there is none, or it predates
     * the field).
     *
     * @throws IOException if the file cannot be read or rewritten
     */
    public static MetricsLog resume(Path dir, long step) throws IOException {
        return resume(dir, step, Clock.systemUTC());
    }

    /** {@link #resume(Path, long)} with the clock that stamps {@code time} and measures {@code elapsed_s}. */
    public static MetricsLog resume(Path dir, long step, Clock clock) throws IOException {
        Path file = dir.resolve(FILE_NAME);
        double elapsedBefore = 0;
        if (Files.exists(file)) {
            List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
            List<String> kept = lines.stream().filter(line -> stepOf(line) <= step).toList();
            if (kept.size() != lines.size()) {
                AtomicFiles.writeString(file, kept.stream()
                        .map(line -> line + "\n").collect(Collectors.joining()));
            }
            if (!kept.isEmpty()) {
                elapsedBefore = elapsedOf(kept.get(kept.size() - 1));
            }
        }
        return open(dir, clock, elapsedBefore);
    }

    /** The log file. */
    public Path file() {
        return file;
    }

    /**
     * Writes one line and flushes it.
     *
     * @throws IOException if the write fails
     */
    public void append(Entry entry) throws IOException {
        ObjectNode line = MAPPER.createObjectNode();
        Instant now = clock.instant();
        line.put("step", entry.step());
        line.put("time", now.toString());
        line.put("elapsed_s", elapsedBefore + Duration.between(opened, now).toNanos() / 1e9);
        line.put("train_loss", entry.trainLoss());
        line.put("lr", entry.lr());
        line.put("tokens_per_s", entry.tokensPerSecond());
        entry.mfu().ifPresent(ratio -> line.put("mfu", ratio));
        entry.valLoss().ifPresent(loss -> line.put("val_loss", loss));
        entry.valMaskedAccuracy().ifPresent(acc -> line.put("val_masked_accuracy", acc));
        entry.lossScale().ifPresent(scale -> line.put("loss_scale", scale));
        entry.lossScaleOverflows().ifPresent(n -> line.put("loss_scale_overflows", n));
        try {
            writer.write(MAPPER.writeValueAsString(line));
            writer.write('\n');
            writer.flush();
        } catch (IOException e) {
            throw new IOException("cannot append to metrics log " + file + ": " + e, e);
        }
    }

    /** Flushes and closes the file. */
    @Override
    public void close() throws IOException {
        writer.close();
    }

    // The elapsed_s of a kept line, or 0 for a line written before the field existed.
    private static double elapsedOf(String line) {
        try {
            JsonNode elapsed = MAPPER.readTree(line).get("elapsed_s");
            return elapsed != null && elapsed.isNumber() ? elapsed.asDouble() : 0;
        } catch (JsonProcessingException e) {
            return 0;
        }
    }

    // The step of a line, or MAX_VALUE for a line that does not parse (a torn last write).
    private static long stepOf(String line) {
        try {
            JsonNode node = MAPPER.readTree(line);
            JsonNode step = node == null ? null : node.get("step");
            return step != null && step.canConvertToLong() ? step.asLong() : Long.MAX_VALUE;
        } catch (JsonProcessingException e) {
            return Long.MAX_VALUE;
        }
    }
}
