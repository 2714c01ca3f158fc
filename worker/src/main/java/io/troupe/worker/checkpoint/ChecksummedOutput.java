package io.troupe.worker.checkpoint;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.WritableByteChannel;
import java.util.zip.CRC32C;
import javax.crypto.Mac;

/**
 * Little-endian writes through a direct buffer to a channel, with a running CRC32C of every
 * byte written (and, given a MAC, a running HMAC). Float and long arrays go in with bulk puts, which on a little-endian machine
 * are plain memory copies.
 */
final class ChecksummedOutput {

    private final WritableByteChannel channel;
    private final ByteBuffer buffer;
    private final CRC32C crc = new CRC32C();
    private final Mac mac;

    /** @param mac a keyed MAC to feed every byte written, or null */
    ChecksummedOutput(WritableByteChannel channel, int bufferBytes, Mac mac) {
        this.channel = channel;
        this.mac = mac;
        this.buffer = ByteBuffer.allocateDirect(bufferBytes).order(ByteOrder.LITTLE_ENDIAN);
    }

    void putInt(int value) throws IOException {
        ensure(Integer.BYTES);
        buffer.putInt(value);
    }

    void putLong(long value) throws IOException {
        ensure(Long.BYTES);
        buffer.putLong(value);
    }

    void putBytes(byte[] values) throws IOException {
        for (int done = 0; done < values.length; ) {
            ensure(1);
            int count = Math.min(values.length - done, buffer.remaining());
            buffer.put(values, done, count);
            done += count;
        }
    }

    void putFloats(float[] values) throws IOException {
        for (int done = 0; done < values.length; ) {
            ensure(Float.BYTES);
            int count = Math.min(values.length - done, buffer.remaining() / Float.BYTES);
            buffer.asFloatBuffer().put(values, done, count);
            buffer.position(buffer.position() + count * Float.BYTES);
            done += count;
        }
    }

    void putLongs(long[] values) throws IOException {
        for (int done = 0; done < values.length; ) {
            ensure(Long.BYTES);
            int count = Math.min(values.length - done, buffer.remaining() / Long.BYTES);
            buffer.asLongBuffer().put(values, done, count);
            buffer.position(buffer.position() + count * Long.BYTES);
            done += count;
        }
    }

    /**
     * Writes what is buffered, then the CRC32C of everything written, then (given a MAC) the MAC
     * of everything written; neither covers the trailer itself.
     */
    void finishWithChecksum() throws IOException {
        drain();
        buffer.putInt((int) crc.getValue());
        if (mac != null) {
            buffer.put(mac.doFinal());
        }
        buffer.flip();
        writeFully();
    }

    private void ensure(int bytes) throws IOException {
        if (buffer.remaining() < bytes) {
            drain();
        }
    }

    private void drain() throws IOException {
        buffer.flip();
        crc.update(buffer.duplicate());
        if (mac != null) {
            mac.update(buffer.duplicate());
        }
        writeFully();
    }

    private void writeFully() throws IOException {
        while (buffer.hasRemaining()) {
            channel.write(buffer);
        }
        buffer.clear();
    }
}
