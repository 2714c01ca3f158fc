package io.troupe.worker.allreduce;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import java.time.Duration;

/**
 * How a ring member talks to its neighbours. Every member of a ring must use the same wire format
 * and chunk size; the handshake refuses a neighbour that does not.
 *
 * @param wire what crosses the network: {@link WireFormat#FP32} (exact) or {@link WireFormat#BF16}
 *     (half the bytes, see its precision note)
 * @param chunkBytes payload bytes per frame. Smaller chunks start the pipeline sooner and keep
 *     less in flight; larger ones cost less per byte. 256 KiB to 1 MiB is the useful range
 * @param connectTimeout how long binding, connecting to the successor and waiting for the
 *     predecessor's handshake may take
 * @param socketBufferBytes SO_SNDBUF and SO_RCVBUF for the ring's sockets; 0 leaves the
 *     operating system's (auto-tuning) default
 * @param sendLimitBytesPerSecond a token bucket on what this member sends to its successor, to
 *     simulate a slow link between nodes ({@code --wire-limit-mbps}); 0 sends as fast as TCP goes
 */
public record RingSettings(WireFormat wire, int chunkBytes, Duration connectTimeout, int socketBufferBytes,
                           long sendLimitBytesPerSecond) {

    /** Default payload bytes per frame. */
    public static final int DEFAULT_CHUNK_BYTES = 512 * 1024;
    /** Default time to form the ring. */
    public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(10);

    private static final int MIN_CHUNK_BYTES = 1024;
    private static final int MAX_CHUNK_BYTES = 64 * 1024 * 1024;

    /** Checks the settings; an impossible value throws with what is allowed. */
    public RingSettings {
        if (wire == null) {
            throw new IllegalArgumentException("wire format is required (fp32 or bf16)");
        }
        if (chunkBytes < MIN_CHUNK_BYTES || chunkBytes > MAX_CHUNK_BYTES) {
            throw new IllegalArgumentException("chunk size must be between " + MIN_CHUNK_BYTES + " bytes and "
                    + MAX_CHUNK_BYTES / (1024 * 1024) + " MiB, got " + chunkBytes + " bytes");
        }
        if (connectTimeout == null || connectTimeout.isNegative() || connectTimeout.isZero()) {
            throw new IllegalArgumentException("connect timeout must be positive, got " + connectTimeout);
        }
        if (socketBufferBytes < 0) {
            throw new IllegalArgumentException("socket buffer size must be >= 0 (0 = OS default), got " + socketBufferBytes);
        }
        if (sendLimitBytesPerSecond < 0 || sendLimitBytesPerSecond > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("the send limit must be in [0, " + Integer.MAX_VALUE
                    + "] bytes/s (0 = none), got " + sendLimitBytesPerSecond);
        }
    }

    /** Settings without a send limit. */
    public RingSettings(WireFormat wire, int chunkBytes, Duration connectTimeout, int socketBufferBytes) {
        this(wire, chunkBytes, connectTimeout, socketBufferBytes, 0);
    }

    /**
     * These settings with a send limit of {@code mbps} megabits (10^6 bits) per second, 0 for none.
     *
     * @throws IllegalArgumentException for a negative, non-finite or absurd limit
     */
    public RingSettings withWireLimitMbps(double mbps) {
        if (!(mbps >= 0) || mbps > 16_000) {
            throw new IllegalArgumentException("--wire-limit-mbps must be in [0, 16000] (0 = no limit), got " + mbps);
        }
        long bytes = Math.round(mbps * 1e6 / 8);
        if (mbps > 0 && bytes < 1) {
            throw new IllegalArgumentException("--wire-limit-mbps " + mbps + " is below one byte per second");
        }
        return new RingSettings(wire, chunkBytes, connectTimeout, socketBufferBytes, bytes);
    }

    /** fp32 on the wire, {@value #DEFAULT_CHUNK_BYTES}-byte chunks, 10 s to connect, OS socket buffers. */
    public static RingSettings defaults() {
        return new RingSettings(WireFormat.FP32, DEFAULT_CHUNK_BYTES, DEFAULT_CONNECT_TIMEOUT, 0);
    }

    /**
     * Reads settings from a HOCON block; every key is optional and defaults as in {@link #defaults()}:
     * <pre>
     * wire = fp32                # or bf16
     * chunk-size = 512 KiB       # payload per frame
     * connect-timeout = 10 s     # bind, connect, handshake
     * socket-buffer-size = 0     # SO_SNDBUF/SO_RCVBUF; 0 = the OS default
     * </pre>
     *
     * @throws IllegalArgumentException naming the key, for a value of the wrong type or range
     */
    public static RingSettings fromConfig(Config config) {
        RingSettings defaults = defaults();
        try {
            WireFormat wire = config.hasPath("wire") ? WireFormat.parse(config.getString("wire")) : defaults.wire();
            long chunk = config.hasPath("chunk-size") ? config.getBytes("chunk-size") : defaults.chunkBytes();
            Duration connect = config.hasPath("connect-timeout") ? config.getDuration("connect-timeout") : defaults.connectTimeout();
            long socket = config.hasPath("socket-buffer-size") ? config.getBytes("socket-buffer-size") : defaults.socketBufferBytes();
            return new RingSettings(wire, (int) Math.min(chunk, Integer.MAX_VALUE), connect, (int) Math.min(socket, Integer.MAX_VALUE));
        } catch (ConfigException e) {
            throw new IllegalArgumentException("bad data-plane setting: " + e.getMessage(), e);
        }
    }

    /** These settings with another wire format. */
    public RingSettings withWire(WireFormat newWire) {
        return new RingSettings(newWire, chunkBytes, connectTimeout, socketBufferBytes, sendLimitBytesPerSecond);
    }

    /** These settings with another chunk size. */
    public RingSettings withChunkBytes(int newChunkBytes) {
        return new RingSettings(wire, newChunkBytes, connectTimeout, socketBufferBytes, sendLimitBytesPerSecond);
    }

    /** These settings with another connect timeout. */
    public RingSettings withConnectTimeout(Duration newConnectTimeout) {
        return new RingSettings(wire, chunkBytes, newConnectTimeout, socketBufferBytes, sendLimitBytesPerSecond);
    }

    /** These settings with another socket buffer size (0 = OS default). */
    public RingSettings withSocketBufferBytes(int newSocketBufferBytes) {
        return new RingSettings(wire, chunkBytes, connectTimeout, newSocketBufferBytes, sendLimitBytesPerSecond);
    }

    /** Elements per chunk: the chunk's bytes over the wire format's bytes per element. */
    int chunkElements() {
        return chunkBytes / wire.bytesPerElement();
    }

    /** The largest payload of a data frame of this ring. */
    int maxPayloadBytes() {
        return wire.payloadBytes(chunkElements());
    }

    /**
     * The settings that every member of a ring must share and that a worker cannot be told by
     * the coordinator (the wire format is chosen per job): compared when a worker offers itself,
     * so a misconfigured worker is refused at the door rather than failing a ring formation.
     */
    public String admissionKey() {
        return "chunk-size=" + chunkBytes;
    }
}
