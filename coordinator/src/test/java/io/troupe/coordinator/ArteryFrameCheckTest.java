package io.troupe.coordinator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import org.apache.pekko.util.ByteString;
import org.junit.jupiter.api.Test;

class ArteryFrameCheckTest {
    private static final int MAX = 1 << 20;

    private static ByteString header() {
        return ByteString.fromArray("AKKA".getBytes(StandardCharsets.US_ASCII)).concat(ByteString.fromArray(new byte[] {2}));
    }

    private static ByteString frame(int declared, int payload) {
        ByteBuffer b = ByteBuffer.allocate(4 + payload).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(declared);
        return ByteString.fromArray(b.array());
    }

    @Test
    void framesWithinTheMaximumPassUnchangedWhereverTheChunksAreCut() {
        ByteString stream = header().concat(frame(10, 10)).concat(frame(MAX, MAX)).concat(frame(0, 0)).concat(frame(3, 3));
        for (int cut : new int[] {1, 2, 3, 5, 7, 4096, stream.size()}) {
            ArteryFrameCheck check = new ArteryFrameCheck(MAX);
            for (int i = 0; i < stream.size(); i += cut) {
                ByteString chunk = stream.slice(i, Math.min(stream.size(), i + cut));
                assertSame(chunk, check.pass(chunk));
            }
        }
    }

    @Test
    void aFrameDeclaringMoreThanTheMaximumIsRefusedBeforeItsPayload() {
        ArteryFrameCheck check = new ArteryFrameCheck(MAX);
        check.pass(header().concat(frame(10, 10)));
        ByteString lying = frame(MAX + 1, 0);
        check.pass(lying.slice(0, 2)); // half a length: nothing to judge yet
        ArteryFrameCheck.FrameRefused e = assertThrows(ArteryFrameCheck.FrameRefused.class,
                () -> check.pass(lying.slice(2, 4)));
        assertEquals("a frame declares 1048577 bytes, above the maximum frame size of 1048576", e.getMessage());
        assertThrows(ArteryFrameCheck.FrameRefused.class,
                () -> new ArteryFrameCheck(MAX).pass(header().concat(frame(Integer.MAX_VALUE, 0))));
        assertThrows(ArteryFrameCheck.FrameRefused.class,
                () -> new ArteryFrameCheck(MAX).pass(header().concat(frame(-1, 0))), "a negative length");
    }

    @Test
    void theLargeMessageStreamHasItsOwnBound() {
        ByteString large = ByteString.fromArray("AKKA".getBytes(StandardCharsets.US_ASCII))
                .concat(ByteString.fromArray(new byte[] {3}));
        new ArteryFrameCheck(MAX, 2 * MAX).pass(large.concat(frame(2 * MAX, 0)));
        assertThrows(ArteryFrameCheck.FrameRefused.class,
                () -> new ArteryFrameCheck(MAX, 2 * MAX).pass(large.concat(frame(2 * MAX + 1, 0))));
        assertThrows(ArteryFrameCheck.FrameRefused.class,
                () -> new ArteryFrameCheck(MAX, 2 * MAX).pass(header().concat(frame(MAX + 1, 0))), "stream 2 keeps 1 MiB");
    }

    @Test
    void aStreamThatIsNotArterysIsRefused() {
        assertThrows(ArteryFrameCheck.FrameRefused.class,
                () -> new ArteryFrameCheck(MAX).pass(ByteString.fromString("GET / HTTP/1.1\r\n")));
    }
}
