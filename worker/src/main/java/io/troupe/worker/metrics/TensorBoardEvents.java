package io.troupe.worker.metrics;

import io.troupe.protocol.tensorboard.Event;
import io.troupe.protocol.tensorboard.Summary;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32C;

/**
 * A TensorBoard event file: {@code DIR/tb/events.out.tfevents.<seconds>.<host>}, a sequence of
 * TFRecord-framed {@link Event} protos. Each record is
 *
 * <pre>
 *   uint64 length (little-endian) | uint32 masked CRC-32C of the length bytes
 *   length bytes of data          | uint32 masked CRC-32C of the data
 * </pre>
 *
 * where the mask is {@code ((crc >>> 15) | (crc << 17)) + 0xa282ead8}, so a file of CRCs is not
 * mistaken for data. The first event holds the file version; every later one a step's scalars.
 * Each write is flushed, so TensorBoard shows a run while it trains.
 */
public final class TensorBoardEvents implements AutoCloseable {

    /** The subdirectory of a run directory that holds the event files. */
    public static final String DIRECTORY = "tb";
    /** The version string of the first event (TensorBoard's current record format). */
    public static final String FILE_VERSION = "brain.Event:2";

    private static final int MASK_DELTA = 0xa282ead8;

    private final Path file;
    private final OutputStream out;
    private final Clock clock;

    private TensorBoardEvents(Path file, OutputStream out, Clock clock) {
        this.file = file;
        this.out = out;
        this.clock = clock;
    }

    /**
     * Creates a new event file in {@code runDir/tb/} (a resumed run adds a file; TensorBoard
     * reads them all) and writes its version event.
     *
     * @throws IOException if the file cannot be created or written
     */
    public static TensorBoardEvents create(Path runDir, Clock clock) throws IOException {
        Path dir = runDir.resolve(DIRECTORY);
        Files.createDirectories(dir);
        String base = "events.out.tfevents." + clock.instant().getEpochSecond() + "." + hostName();
        for (int n = 0; ; n++) {
            Path file = dir.resolve(n == 0 ? base : base + "." + n);
            try {
                OutputStream stream = new BufferedOutputStream(Files.newOutputStream(file, StandardOpenOption.CREATE_NEW,
                        StandardOpenOption.WRITE));
                TensorBoardEvents events = new TensorBoardEvents(file, stream, clock);
                events.write(Event.newBuilder().setWallTime(events.now()).setFileVersion(FILE_VERSION).build());
                return events;
            } catch (FileAlreadyExistsException e) {
                // Two runs started in the same second on this host: take the next name.
            }
        }
    }

    /** The event file. */
    public Path file() {
        return file;
    }

    /**
     * Writes the scalars of one step (tag to value; non-finite values are written as they are,
     * as TensorBoard shows them) and flushes.
     *
     * @throws IOException if the write fails
     */
    public void scalars(long step, Map<String, Double> values) throws IOException {
        Summary.Builder summary = Summary.newBuilder();
        values.forEach((tag, value) -> summary.addValue(
                Summary.Value.newBuilder().setTag(tag).setSimpleValue(value.floatValue())));
        write(Event.newBuilder().setWallTime(now()).setStep(step).setSummary(summary).build());
    }

    /**
     * Reads every event of an event file, checking each record's framing and both CRCs.
     *
     * @throws IOException if the file cannot be read, or a record is torn or fails its CRC (the
     *     message names its offset)
     */
    public static List<Event> read(Path file) throws IOException {
        ByteBuffer bytes = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        List<Event> events = new ArrayList<>();
        while (bytes.hasRemaining()) {
            int offset = bytes.position();
            if (bytes.remaining() < Long.BYTES + Integer.BYTES) {
                throw new IOException(file + ": a torn record header at byte " + offset);
            }
            byte[] length = new byte[Long.BYTES];
            bytes.get(length);
            if (bytes.getInt() != maskedCrc32c(length)) {
                throw new IOException(file + ": the length CRC of the record at byte " + offset + " does not match");
            }
            long n = ByteBuffer.wrap(length).order(ByteOrder.LITTLE_ENDIAN).getLong();
            // The length is checked against what is there before anything is allocated.
            if (n < 0 || n > bytes.remaining() - Integer.BYTES) {
                throw new IOException(file + ": the record at byte " + offset + " claims " + n + " bytes; "
                        + (bytes.remaining() - Integer.BYTES) + " remain");
            }
            byte[] data = new byte[(int) n];
            bytes.get(data);
            if (bytes.getInt() != maskedCrc32c(data)) {
                throw new IOException(file + ": the data CRC of the record at byte " + offset + " does not match");
            }
            events.add(Event.parseFrom(data));
        }
        return events;
    }

    private double now() {
        return clock.millis() / 1000.0;
    }

    private void write(Event event) throws IOException {
        byte[] data = event.toByteArray();
        byte[] length = ByteBuffer.allocate(Long.BYTES).order(ByteOrder.LITTLE_ENDIAN).putLong(data.length).array();
        out.write(length);
        out.write(intLE(maskedCrc32c(length)));
        out.write(data);
        out.write(intLE(maskedCrc32c(data)));
        out.flush();
    }

    /** The masked CRC-32C (Castagnoli) of {@code bytes}, as TFRecord frames store it. */
    public static int maskedCrc32c(byte[] bytes) {
        CRC32C crc = new CRC32C();
        crc.update(bytes);
        int c = (int) crc.getValue();
        return ((c >>> 15) | (c << 17)) + MASK_DELTA;
    }

    private static byte[] intLE(int value) {
        return ByteBuffer.allocate(Integer.BYTES).order(ByteOrder.LITTLE_ENDIAN).putInt(value).array();
    }

    private static String hostName() {
        try {
            return InetAddress.getLocalHost().getHostName().replaceAll("[^A-Za-z0-9._-]", "_");
        } catch (IOException e) {
            return "localhost";
        }
    }

    @Override
    public void close() throws IOException {
        out.close();
    }
}
