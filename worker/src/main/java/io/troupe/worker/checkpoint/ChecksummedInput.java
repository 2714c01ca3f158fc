package io.troupe.worker.checkpoint;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.ReadableByteChannel;
import java.util.zip.CRC32C;
import javax.crypto.Mac;

/**
 * Little-endian reads of exactly {@code length} bytes from a channel through a direct buffer,
 * with a running CRC32C (and, given a MAC, a running HMAC) of every byte read. The counterpart
 * of {@link ChecksummedOutput}.
 */
final class ChecksummedInput {

    private final ReadableByteChannel channel;
    private final ByteBuffer buffer;
    private final CRC32C crc = new CRC32C();
    private final Mac mac;
    private long unread;

    /** @param mac a keyed MAC to feed every byte read, or null */
    ChecksummedInput(ReadableByteChannel channel, long length, int bufferBytes, Mac mac) {
        this.channel = channel;
        this.mac = mac;
        this.unread = length;
        this.buffer = ByteBuffer.allocateDirect(bufferBytes).order(ByteOrder.LITTLE_ENDIAN);
        buffer.limit(0);
    }

    int getInt() throws IOException {
        require(Integer.BYTES);
        return buffer.getInt();
    }

    long getLong() throws IOException {
        require(Long.BYTES);
        return buffer.getLong();
    }

    void getBytes(byte[] into) throws IOException {
        for (int done = 0; done < into.length; ) {
            require(1);
            int count = Math.min(into.length - done, buffer.remaining());
            buffer.get(into, done, count);
            done += count;
        }
    }

    void getFloats(float[] into) throws IOException {
        for (int done = 0; done < into.length; ) {
            require(Float.BYTES);
            int count = Math.min(into.length - done, buffer.remaining() / Float.BYTES);
            buffer.asFloatBuffer().get(into, done, count);
            buffer.position(buffer.position() + count * Float.BYTES);
            done += count;
        }
    }

    void getLongs(long[] into) throws IOException {
        for (int done = 0; done < into.length; ) {
            require(Long.BYTES);
            int count = Math.min(into.length - done, buffer.remaining() / Long.BYTES);
            buffer.asLongBuffer().get(into, done, count);
            buffer.position(buffer.position() + count * Long.BYTES);
            done += count;
        }
    }

    /** The CRC32C of every byte read so far, as the unsigned 32 bits in an int. */
    int checksum() {
        return (int) crc.getValue();
    }

    /** Lets {@code bytes} more be read after the length given at construction. */
    void extend(long bytes) {
        unread += bytes;
    }

    /** The MAC of every byte read so far (which resets it), or null without a MAC. */
    byte[] signature() {
        return mac == null ? null : mac.doFinal();
    }

    /** Whether all {@code length} bytes have been consumed. */
    boolean exhausted() {
        return unread == 0 && !buffer.hasRemaining();
    }

    // Makes at least `bytes` readable, filling the rest of the buffer as far as the length allows.
    private void require(int bytes) throws IOException {
        if (buffer.remaining() >= bytes) {
            return;
        }
        buffer.compact();
        while (buffer.position() < bytes) {
            if (unread == 0) {
                throw new EOFException("ran past the end of the checkpoint's data");
            }
            int start = buffer.position();
            ByteBuffer window = buffer.duplicate();
            window.limit(start + (int) Math.min(buffer.remaining(), unread));
            int read = channel.read(window);
            if (read < 0) {
                throw new EOFException("the file ended early");
            }
            crc.update(buffer.duplicate().position(start).limit(start + read));
            if (mac != null) {
                mac.update(buffer.duplicate().position(start).limit(start + read));
            }
            buffer.position(start + read);
            unread -= read;
        }
        buffer.flip();
    }
}
