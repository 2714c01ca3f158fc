package io.troupe.worker.transfer;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A plain-socket server that misbehaves in one scripted way, for the failures a real
 * {@link StateServer} never produces on purpose: it accepts one connection and runs the script.
 */
final class FakeStateServer implements AutoCloseable {

    /** What the fake does with its one connection. */
    interface Script {
        void run(Socket socket) throws IOException, InterruptedException;
    }

    private final ServerSocket socket;
    private final Thread thread;

    FakeStateServer(Script script) throws IOException {
        socket = new ServerSocket(0, 4, java.net.InetAddress.getLoopbackAddress());
        thread = new Thread(() -> {
            try (Socket connection = socket.accept()) {
                script.run(connection);
            } catch (IOException | InterruptedException e) {
                // closed by the test, or the client went away: the script is over either way
            }
        }, "fake-state-server");
        thread.setDaemon(true);
        thread.start();
    }

    InetSocketAddress address() {
        return new InetSocketAddress("127.0.0.1", socket.getLocalPort());
    }

    /** Reads one whole request frame, so that the client's request is consumed. */
    static void readRequest(InputStream in) throws IOException {
        DataInputStream data = new DataInputStream(in);
        byte[] prefix = new byte[4];
        data.readFully(prefix);
        int length = ByteBuffer.wrap(prefix).order(ByteOrder.LITTLE_ENDIAN).getInt();
        data.readFully(new byte[length]);
    }

    @Override
    public void close() throws Exception {
        socket.close();
        thread.interrupt();
        thread.join(5_000);
    }
}
