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
import java.util.List;
import java.util.OptionalDouble;
import java.util.stream.Collectors;

/**
 * Appends training metrics to {@code DIR/metrics.jsonl}, one JSON object per line:
 * {@code {"step":250,"train_loss":1.83,"lr":0.00098,"tokens_per_s":41234.5,"val_loss":1.97}},
 * {@code val_loss} only on steps that evaluated. Each line is flushed as it is written, so a
 * dashboard or {@code tail -f} sees it at once and a crash loses at most the line being written.
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
     */
    public record Entry(long step, double trainLoss, double lr, double tokensPerSecond,
            OptionalDouble valLoss) {

        /** An entry without validation loss. */
        public static Entry train(long step, double trainLoss, double lr, double tokensPerSecond) {
            return new Entry(step, trainLoss, lr, tokensPerSecond, OptionalDouble.empty());
        }

        /** This entry with a validation loss. */
        public Entry withValLoss(double loss) {
            return new Entry(step, trainLoss, lr, tokensPerSecond, OptionalDouble.of(loss));
        }
    }

    private final Path file;
    private final BufferedWriter writer;

    private MetricsLog(Path file, BufferedWriter writer) {
        this.file = file;
        this.writer = writer;
    }

    /**
     * Opens {@code dir/metrics.jsonl} for appending, creating the directory and file if needed.
     *
     * @throws IOException if the file cannot be opened
     */
    public static MetricsLog open(Path dir) throws IOException {
        Path file = dir.resolve(FILE_NAME);
        try {
            Files.createDirectories(dir);
            return new MetricsLog(file, Files.newBufferedWriter(file, StandardCharsets.UTF_8,
                    StandardOpenOption.CREATE, StandardOpenOption.APPEND));
        } catch (IOException e) {
            throw new IOException("cannot open metrics log " + file + ": " + e, e);
        }
    }

    /**
     * Opens the log of a run that resumes after {@code step}: lines for later steps (written
     * after the checkpoint by the run that crashed) and a partly written last line are dropped
     * first, so the resumed run's lines continue the curve without duplicates.
     *
     * @throws IOException if the file cannot be read or rewritten
     */
    public static MetricsLog resume(Path dir, long step) throws IOException {
        Path file = dir.resolve(FILE_NAME);
        if (Files.exists(file)) {
            List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
            List<String> kept = lines.stream().filter(line -> stepOf(line) <= step).toList();
            if (kept.size() != lines.size()) {
                AtomicFiles.writeString(file, kept.stream()
                        .map(line -> line + "\n").collect(Collectors.joining()));
            }
        }
        return open(dir);
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
        line.put("step", entry.step());
        line.put("train_loss", entry.trainLoss());
        line.put("lr", entry.lr());
        line.put("tokens_per_s", entry.tokensPerSecond());
        entry.valLoss().ifPresent(loss -> line.put("val_loss", loss));
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
