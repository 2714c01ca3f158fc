package io.troupe.ops.serve;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Locale;

/**
 * The load generator's HTTP/1.1 client: one blocking keep-alive connection to a plain-HTTP
 * server, a JSON POST, and the response read line by line, chunked or not.
 *
 * <p>Why not {@link java.net.http.HttpClient}: the benchmark's clients share the machine with the
 * server they measure. That client hands every arriving chunk from its selector thread to a worker
 * and on to the reading thread (two thread wake-ups per token), which cost the benchmark about
 * 0.1-0.15 ms of CPU per generated token, a fifth of the whole process's. Here the reading thread
 * blocks in the socket's read itself: one wake-up per arriving chunk, no hand-off. The clients'
 * CPU is still measured and reported as theirs.
 *
 * <p>Not thread-safe: one client per load-generating thread.
 */
public final class SseClient implements AutoCloseable {
    /** Receives each line of a response body (without its line end), with the time it was read. */
    @FunctionalInterface
    public interface LineHandler {
        void line(String line, long nanoTime) throws IOException;
    }

    /** Most bytes of one header or body line this client accepts (a line past it is a broken server). */
    private static final int MAX_LINE = 1 << 20;

    private final String host;
    private final int port;
    private final String apiKey;
    private Socket socket;
    private InputStream in;
    private OutputStream out;
    /** Bytes read from the socket and not yet consumed: buffer[position, limit). */
    private final byte[] buffer = new byte[16 * 1024];
    private int position;
    private int limit;
    private byte[] line = new byte[1024];
    private int lineLength;

    /**
     * @param apiKey sent as {@code Authorization: Bearer}, or null for none
     */
    public SseClient(String host, int port, String apiKey) {
        this.host = host;
        this.port = port;
        this.apiKey = apiKey;
    }

    /**
     * POSTs {@code json} to {@code path} and hands every line of the response body to
     * {@code handler} as it arrives; returns the status code. The connection stays open for the
     * next request unless the server closes it.
     *
     * @throws IOException when the connection fails or the response is not HTTP/1.1 as expected
     */
    public int post(String path, String json, LineHandler handler) throws IOException {
        byte[] body = json.getBytes(StandardCharsets.UTF_8);
        StringBuilder head = new StringBuilder(256).append("POST ").append(path).append(" HTTP/1.1\r\nHost: ")
                .append(host).append(':').append(port)
                .append("\r\nContent-Type: application/json\r\nAccept: text/event-stream\r\nContent-Length: ")
                .append(body.length).append("\r\n");
        if (apiKey != null) {
            head.append("Authorization: Bearer ").append(apiKey).append("\r\n");
        }
        head.append("\r\n");
        connect();
        try {
            // Head and body in one write, so they travel in one segment as most HTTP clients send a
            // small request (with TCP_NODELAY, two writes are two segments).
            byte[] headBytes = head.toString().getBytes(StandardCharsets.US_ASCII);
            byte[] request = java.util.Arrays.copyOf(headBytes, headBytes.length + body.length);
            System.arraycopy(body, 0, request, headBytes.length, body.length);
            out.write(request);
            out.flush();
            return response(handler);
        } catch (IOException | RuntimeException e) {
            close();
            throw e;
        }
    }

    private void connect() throws IOException {
        if (socket != null) {
            return;
        }
        socket = new Socket();
        socket.setTcpNoDelay(true);
        socket.connect(new InetSocketAddress(host, port), 10_000);
        socket.setSoTimeout(600_000);
        in = socket.getInputStream();
        position = 0;
        limit = 0;
        out = socket.getOutputStream();
    }

    private int response(LineHandler handler) throws IOException {
        String status = headerLine();
        String[] parts = status.split(" ", 3);
        if (parts.length < 2 || !parts[0].startsWith("HTTP/1.")) {
            throw new IOException("not an HTTP/1.x status line: " + status);
        }
        int code;
        try {
            code = Integer.parseInt(parts[1]);
        } catch (NumberFormatException e) {
            throw new IOException("not an HTTP/1.x status line: " + status);
        }
        boolean chunked = false;
        long length = -1;
        boolean closing = parts[0].equals("HTTP/1.0");
        for (String header = headerLine(); !header.isEmpty(); header = headerLine()) {
            int colon = header.indexOf(':');
            if (colon < 0) {
                throw new IOException("a malformed header line: " + header);
            }
            String name = header.substring(0, colon).trim().toLowerCase(Locale.ROOT);
            String value = header.substring(colon + 1).trim();
            switch (name) {
                case "transfer-encoding" -> chunked = value.toLowerCase(Locale.ROOT).contains("chunked");
                case "content-length" -> length = parseLength(value);
                case "connection" -> closing |= value.equalsIgnoreCase("close");
                default -> { }
            }
        }
        lineLength = 0;
        if (chunked) {
            for (long size = chunkSize(); size > 0; size = chunkSize()) {
                body(size, handler);
                if (!headerLine().isEmpty()) {
                    throw new IOException("a chunk does not end where its size says");
                }
            }
            while (!headerLine().isEmpty()) {
                // trailers: none expected, nothing to keep
            }
        } else if (length >= 0) {
            body(length, handler);
        } else {
            body(Long.MAX_VALUE, handler); // the body runs to the end of the connection
            closing = true;
        }
        if (lineLength > 0) {
            emit(handler); // a last line without a line end
        }
        if (closing) {
            close();
        }
        return code;
    }

    private static long parseLength(String value) throws IOException {
        try {
            long length = Long.parseLong(value);
            if (length < 0) {
                throw new NumberFormatException();
            }
            return length;
        } catch (NumberFormatException e) {
            throw new IOException("a malformed Content-Length: " + value);
        }
    }

    private long chunkSize() throws IOException {
        String size = headerLine();
        int extension = size.indexOf(';');
        try {
            long n = Long.parseLong((extension < 0 ? size : size.substring(0, extension)).trim(), 16);
            if (n < 0) {
                throw new NumberFormatException();
            }
            return n;
        } catch (NumberFormatException e) {
            throw new IOException("a malformed chunk size: " + size);
        }
    }

    /** Reads {@code n} body bytes (or to the end of the stream when n is Long.MAX_VALUE), emitting each complete line. */
    private void body(long n, LineHandler handler) throws IOException {
        for (long left = n; left > 0; left--) {
            int b = next();
            if (b < 0) {
                if (n == Long.MAX_VALUE) {
                    return;
                }
                throw new IOException("the connection closed " + left + " bytes before the body's end");
            }
            if (b == '\n') {
                emit(handler);
            } else {
                append(b);
            }
        }
    }

    /** The next byte of the connection, or -1 at its end; one read call per arriving segment, not per byte. */
    private int next() throws IOException {
        if (position == limit) {
            int n = in.read(buffer, 0, buffer.length);
            if (n <= 0) {
                return -1;
            }
            position = 0;
            limit = n;
        }
        return buffer[position++] & 0xff;
    }

    private void emit(LineHandler handler) throws IOException {
        int end = lineLength > 0 && line[lineLength - 1] == '\r' ? lineLength - 1 : lineLength;
        String text = new String(line, 0, end, StandardCharsets.UTF_8);
        lineLength = 0;
        handler.line(text, System.nanoTime());
    }

    private void append(int b) throws IOException {
        if (lineLength == line.length) {
            if (line.length >= MAX_LINE) {
                throw new IOException("a line longer than " + MAX_LINE + " bytes");
            }
            line = Arrays.copyOf(line, line.length * 2);
        }
        line[lineLength++] = (byte) b;
    }

    /** One CRLF- (or LF-) ended line of the head or of the chunk framing, as ASCII. */
    private String headerLine() throws IOException {
        StringBuilder text = new StringBuilder(64);
        for (int b = next(); b != '\n'; b = next()) {
            if (b < 0) {
                throw new IOException("the server closed the connection mid-response");
            }
            if (text.length() >= 64 * 1024) {
                throw new IOException("a header line longer than 64 KiB");
            }
            text.append((char) b);
        }
        int end = text.length() > 0 && text.charAt(text.length() - 1) == '\r' ? text.length() - 1 : text.length();
        return text.substring(0, end);
    }

    @Override
    public void close() {
        if (socket != null) {
            try {
                socket.close();
            } catch (IOException ignored) {
                // Closing a socket that failed: nothing left to do.
            }
        }
        socket = null;
        in = null;
        out = null;
    }
}
