package io.troupe.worker.checkpoint;

import java.nio.ByteBuffer;
import java.nio.channels.ByteChannel;

/**
 * A channel over one heap buffer: reads take its bytes from position to limit, writes fill it.
 * It lets the checkpoint codec, written against channels so that files are never held in memory
 * whole, encode into and decode from a byte array as well.
 */
final class BufferChannel implements ByteChannel {

    private final ByteBuffer buffer;
    private boolean open = true;

    BufferChannel(ByteBuffer buffer) {
        this.buffer = buffer;
    }

    @Override
    public int read(ByteBuffer into) {
        if (!buffer.hasRemaining()) {
            return -1;
        }
        int count = Math.min(into.remaining(), buffer.remaining());
        into.put(buffer.slice(buffer.position(), count));
        buffer.position(buffer.position() + count);
        return count;
    }

    @Override
    public int write(ByteBuffer from) {
        if (from.remaining() > buffer.remaining()) {
            // The codec sizes the array exactly; more bytes would be a bug in that arithmetic.
            throw new IllegalStateException("encoding overran its " + buffer.capacity()
                    + "-byte array");
        }
        int count = from.remaining();
        buffer.put(from);
        return count;
    }

    @Override
    public boolean isOpen() {
        return open;
    }

    @Override
    public void close() {
        open = false;
    }
}
