package io.troupe.model.io;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * A safetensors file open for reading: the layout its header declares, checked against the
 * file, and the tensors read on demand.
 *
 * <p>The format (Hugging Face's): an 8-byte little-endian unsigned header length N, N bytes of
 * UTF-8 JSON mapping each tensor name to {@code {"dtype", "shape", "data_offsets": [begin, end]}}
 * (offsets relative to the byte after the header) plus an optional {@code "__metadata__"} map of
 * strings, then the raw little-endian tensor bytes.
 *
 * <p><b>Nothing declared is trusted.</b> {@link #open} reads the 8 bytes and the header only, and
 * refuses, with one line naming the file and the problem: a file shorter than 8 bytes; a header
 * length over the file size or over {@value #MAX_HEADER_BYTES} bytes (safetensors' own limit);
 * a header that is not a JSON object, or repeats a key; an entry without a known dtype, a shape
 * of non-negative integers, or two integer offsets with begin &lt;= end; a byte range whose size
 * is not elements x dtype size; ranges that overlap; a range that ends past the end of the file
 * (a truncated file). The tensors themselves are read only when asked for, in bounded chunks,
 * with positional reads, so the file's size never decides an allocation.
 *
 * <p>Reads are positional and may run concurrently; {@link #close} must not race them.
 */
public final class Safetensors implements AutoCloseable {

    /** The largest header Troupe (and the safetensors library) accepts. */
    public static final long MAX_HEADER_BYTES = 100_000_000L;
    /** The header key of the optional string-to-string metadata map. */
    public static final String METADATA_KEY = "__metadata__";

    private static final int CHUNK_BYTES = 1 << 20;
    private static final ObjectMapper MAPPER = new ObjectMapper().enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    private final Path file;
    private final FileChannel channel;
    private final long dataStart;
    private final Map<String, TensorEntry> entries;
    private final Map<String, String> metadata;

    private Safetensors(Path file, FileChannel channel, long dataStart, Map<String, TensorEntry> entries,
                        Map<String, String> metadata) {
        this.file = file;
        this.channel = channel;
        this.dataStart = dataStart;
        this.entries = Collections.unmodifiableMap(entries);
        this.metadata = Collections.unmodifiableMap(metadata);
    }

    /**
     * Opens {@code file} and checks its header against its size (see the class comment).
     *
     * @throws ModelFileException if the file is missing or unreadable, or its header is malformed
     *     or lies about the file; the message names the file and the problem
     */
    public static Safetensors open(Path file) throws ModelFileException {
        FileChannel channel;
        try {
            channel = FileChannel.open(file, StandardOpenOption.READ);
        } catch (NoSuchFileException e) {
            throw new ModelFileException(file + " does not exist; give a .safetensors file");
        } catch (IOException e) {
            throw new ModelFileException("cannot read " + file + ": " + e.getMessage(), e);
        }
        try {
            Safetensors opened = readHeader(file, channel);
            channel = null; // now owned by the result
            return opened;
        } catch (IOException e) {
            throw new ModelFileException("cannot read " + file + ": " + e.getMessage(), e);
        } finally {
            if (channel != null) {
                closeQuietly(channel);
            }
        }
    }

    private static Safetensors readHeader(Path file, FileChannel channel) throws IOException {
        long size = channel.size();
        if (size < 8) {
            throw bad(file, "is " + size + " bytes, shorter than the 8-byte header length; the file is truncated or not safetensors");
        }
        ByteBuffer lengthBytes = readFully(file, channel, 0, 8);
        long headerLength = lengthBytes.order(ByteOrder.LITTLE_ENDIAN).getLong();
        if (headerLength < 0 || headerLength > size - 8) {
            throw bad(file, "declares a header of " + Long.toUnsignedString(headerLength) + " bytes, over the file size ("
                    + size + " bytes); the file is truncated or not safetensors");
        }
        if (headerLength > MAX_HEADER_BYTES) {
            throw bad(file, "declares a header of " + headerLength + " bytes, over the " + MAX_HEADER_BYTES + "-byte limit");
        }
        ByteBuffer headerBytes = readFully(file, channel, 8, (int) headerLength);
        JsonNode header;
        try {
            header = MAPPER.readTree(headerBytes.array());
        } catch (JsonProcessingException e) {
            throw bad(file, "has a header that is not valid JSON (" + e.getOriginalMessage() + ")");
        }
        if (header == null || !header.isObject()) {
            throw bad(file, "has a header that is not a JSON object");
        }
        long dataStart = 8 + headerLength;
        long dataLength = size - dataStart;
        Map<String, TensorEntry> entries = new LinkedHashMap<>();
        Map<String, String> metadata = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> field : header.properties()) {
            if (field.getKey().equals(METADATA_KEY)) {
                readMetadata(file, field.getValue(), metadata);
            } else {
                entries.put(field.getKey(), entry(file, field.getKey(), field.getValue()));
            }
        }
        checkRanges(file, entries.values(), dataLength);
        return new Safetensors(file, channel, dataStart, entries, metadata);
    }

    private static void readMetadata(Path file, JsonNode node, Map<String, String> into) {
        if (!node.isObject()) {
            throw bad(file, "has a \"" + METADATA_KEY + "\" that is not an object of strings");
        }
        for (Map.Entry<String, JsonNode> m : node.properties()) {
            if (!m.getValue().isTextual()) {
                throw bad(file, "has metadata \"" + m.getKey() + "\" that is not a string");
            }
            into.put(m.getKey(), m.getValue().asText());
        }
    }

    private static TensorEntry entry(Path file, String name, JsonNode node) {
        if (!node.isObject()) {
            throw bad(file, "tensor '" + name + "' is not an object with dtype, shape and data_offsets");
        }
        JsonNode dtypeNode = node.get("dtype");
        if (dtypeNode == null || !dtypeNode.isTextual()) {
            throw bad(file, "tensor '" + name + "' has no dtype");
        }
        SafetensorsDtype dtype = SafetensorsDtype.parse(dtypeNode.asText()).orElseThrow(() -> bad(file,
                "tensor '" + name + "' has unknown dtype '" + dtypeNode.asText() + "'"));
        long[] shape = longs(file, name, "shape", node.get("shape"), -1);
        long[] offsets = longs(file, name, "data_offsets", node.get("data_offsets"), 2);
        if (offsets[0] > offsets[1]) {
            throw bad(file, "tensor '" + name + "' has data_offsets [" + offsets[0] + ", " + offsets[1] + "] that end before they begin");
        }
        TensorEntry entry = new TensorEntry(name, dtype, shape, offsets[0], offsets[1]);
        long expected;
        try {
            expected = Math.multiplyExact(entry.elements(), dtype.bytes());
        } catch (ArithmeticException e) {
            throw bad(file, "tensor '" + name + "' has a shape too large to exist: " + entry.describe());
        }
        if (offsets[1] - offsets[0] != expected) {
            throw bad(file, "tensor '" + name + "' (" + entry.describe() + ") needs " + expected + " bytes but its data_offsets ["
                    + offsets[0] + ", " + offsets[1] + "] span " + (offsets[1] - offsets[0]));
        }
        return entry;
    }

    private static long[] longs(Path file, String name, String key, JsonNode node, int length) {
        if (node == null || !node.isArray() || (length >= 0 && node.size() != length)) {
            throw bad(file, "tensor '" + name + "' has no " + key + (length >= 0 ? " of " + length + " integers" : " array"));
        }
        long[] values = new long[node.size()];
        for (int i = 0; i < values.length; i++) {
            JsonNode v = node.get(i);
            if (!v.isIntegralNumber() || !v.canConvertToLong() || v.asLong() < 0) {
                throw bad(file, "tensor '" + name + "' has " + key + " " + node + " that are not non-negative integers");
            }
            values[i] = v.asLong();
        }
        return values;
    }

    private static void checkRanges(Path file, java.util.Collection<TensorEntry> all, long dataLength) {
        List<TensorEntry> sorted = new ArrayList<>(all);
        sorted.sort(Comparator.comparingLong(TensorEntry::begin).thenComparingLong(TensorEntry::end));
        TensorEntry previous = null;
        for (TensorEntry e : sorted) {
            if (previous != null && e.begin() < previous.end()) {
                throw bad(file, "tensors '" + previous.name() + "' [" + previous.begin() + ", " + previous.end() + ") and '"
                        + e.name() + "' [" + e.begin() + ", " + e.end() + ") overlap");
            }
            if (e.end() > dataLength) {
                throw bad(file, "is truncated: tensor '" + e.name() + "' ends at data byte " + e.end() + " but the file holds "
                        + dataLength + " data bytes");
            }
            previous = e;
        }
    }

    /** The file this reads. */
    public Path file() {
        return file;
    }

    /** The tensors' names, in header order. */
    public Set<String> names() {
        return entries.keySet();
    }

    /** Every tensor's entry, by name, in header order. */
    public Map<String, TensorEntry> entries() {
        return entries;
    }

    /** The entry of {@code name}, or empty if the file has no such tensor. */
    public Optional<TensorEntry> entry(String name) {
        return Optional.ofNullable(entries.get(name));
    }

    /** The header's {@value #METADATA_KEY} map (empty if absent). */
    public Map<String, String> metadata() {
        return metadata;
    }

    /**
     * The values of tensor {@code name} as floats, in row-major order (F16, BF16 and F64 are
     * converted).
     *
     * @throws ModelFileException if there is no such tensor, its dtype is not a float type, it has
     *     more elements than a Java array holds, or the file was cut short since it was opened
     */
    public float[] floats(String name) throws ModelFileException {
        TensorEntry e = require(name);
        if (e.elements() > Integer.MAX_VALUE - 8) {
            throw bad(file, "tensor '" + name + "' has " + e.elements() + " elements, more than one array holds");
        }
        float[] values = new float[(int) e.elements()];
        floats(name, values, 0);
        return values;
    }

    /**
     * Reads tensor {@code name} as floats into {@code into} from {@code offset}, e.g. straight
     * into its view of a flat parameter buffer.
     *
     * @throws ModelFileException as {@link #floats(String)}
     * @throws IllegalArgumentException if the tensor does not fit in {@code into} at {@code offset}
     */
    public void floats(String name, float[] into, int offset) throws ModelFileException {
        TensorEntry e = require(name);
        if (!e.dtype().isFloat()) {
            throw bad(file, "tensor '" + name + "' is " + e.dtype() + ", not a floating-point type Troupe reads");
        }
        if (offset < 0 || e.elements() > into.length - (long) offset) {
            throw new IllegalArgumentException("tensor '" + name + "' has " + e.elements() + " elements; they do not fit at "
                    + offset + " in " + into.length);
        }
        int width = e.dtype().bytes();
        int perChunk = CHUNK_BYTES / width;
        long remaining = e.elements();
        long position = dataStart + e.begin();
        int out = offset;
        try {
            while (remaining > 0) {
                int n = (int) Math.min(perChunk, remaining);
                ByteBuffer chunk = readFully(file, channel, position, n * width).order(ByteOrder.LITTLE_ENDIAN);
                for (int i = 0; i < n; i++) {
                    into[out++] = switch (e.dtype()) {
                        case F32 -> chunk.getFloat();
                        case F64 -> (float) chunk.getDouble();
                        case BF16 -> Float.intBitsToFloat((chunk.getShort() & 0xffff) << 16);
                        case F16 -> HalfFloat.toFloat(chunk.getShort());
                        default -> throw new IllegalStateException(e.dtype() + " is not a float type");
                    };
                }
                position += (long) n * width;
                remaining -= n;
            }
        } catch (IOException ex) {
            throw new ModelFileException("cannot read tensor '" + name + "' of " + file + ": " + ex.getMessage(), ex);
        }
    }

    private TensorEntry require(String name) {
        TensorEntry e = entries.get(name);
        if (e == null) {
            throw bad(file, "has no tensor '" + name + "'");
        }
        return e;
    }

    /** Reads exactly {@code length} bytes at {@code position}, or fails naming the file as truncated. */
    private static ByteBuffer readFully(Path file, FileChannel channel, long position, int length) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocate(length);
        while (buffer.hasRemaining()) {
            int n = channel.read(buffer, position + buffer.position());
            if (n < 0) {
                throw bad(file, "is truncated: it ends at byte " + (position + buffer.position()) + ", before byte "
                        + (position + length) + " its header promises");
            }
        }
        return buffer.flip();
    }

    private static ModelFileException bad(Path file, String problem) {
        return new ModelFileException(file + " " + problem);
    }

    private static void closeQuietly(FileChannel channel) {
        try {
            channel.close();
        } catch (IOException ignored) {
            // Nothing was read through it yet; the failure being reported matters more.
        }
    }

    /** Closes the file. */
    @Override
    public void close() {
        closeQuietly(channel);
    }
}
