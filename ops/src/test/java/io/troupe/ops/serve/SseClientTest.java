package io.troupe.ops.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * The benchmark's HTTP client against a scripted server: lines split over chunks and several
 * lines in one chunk come out whole and in order, a keep-alive connection carries the next
 * request, an error body is read by its length, and a broken framing is an IOException.
 */
class SseClientTest {

    /** Serves one connection: for each request read, writes {@code answers.apply(i)} bytes; returns the requests seen. */
    private static CompletableFuture<List<String>> serve(ServerSocket server, int requests, Function<Integer, List<byte[]>> answers) {
        return CompletableFuture.supplyAsync(() -> {
            List<String> seen = new ArrayList<>();
            try (Socket socket = server.accept()) {
                InputStream in = socket.getInputStream();
                OutputStream out = socket.getOutputStream();
                for (int i = 0; i < requests; i++) {
                    seen.add(readRequest(in));
                    for (byte[] part : answers.apply(i)) {
                        out.write(part);
                        out.flush(); // separate writes, so the client meets the split boundaries
                        Thread.sleep(2);
                    }
                }
            } catch (IOException | InterruptedException e) {
                throw new IllegalStateException(e);
            }
            return seen;
        });
    }

    /** Reads a request head and its Content-Length body. */
    private static String readRequest(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        while (!head.toString(StandardCharsets.US_ASCII).endsWith("\r\n\r\n")) {
            int b = in.read();
            if (b < 0) {
                throw new IOException("closed");
            }
            head.write(b);
        }
        String text = head.toString(StandardCharsets.US_ASCII);
        int at = text.toLowerCase().indexOf("content-length: ");
        int length = Integer.parseInt(text.substring(at + 16, text.indexOf("\r\n", at)).trim());
        return text + new String(in.readNBytes(length), StandardCharsets.UTF_8);
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static String chunk(String data) {
        return Integer.toHexString(data.getBytes(StandardCharsets.UTF_8).length) + "\r\n" + data + "\r\n";
    }

    @Test
    void linesSplitOverChunksComeOutWholeAndTheConnectionCarriesTheNextRequest() throws Exception {
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            String head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n";
            String event = "data: {\"text\":\"é€\"}\n\n";
            byte[] bytes = event.getBytes(StandardCharsets.UTF_8);
            CompletableFuture<List<String>> seen = serve(server, 2, i -> List.of(
                    ascii(head),
                    // one event split inside a multi-byte character, over two chunks and two writes
                    ascii(Integer.toHexString(12) + "\r\n"), java.util.Arrays.copyOf(bytes, 12), ascii("\r\n"),
                    ascii(Integer.toHexString(bytes.length - 12) + "\r\n"),
                    java.util.Arrays.copyOfRange(bytes, 12, bytes.length), ascii("\r\n"),
                    // two events in one chunk, then the end
                    ascii(chunk("data: {\"n\":" + i + "}\n\ndata: [DONE]\n\n") + "0\r\n\r\n")));
            List<String> lines = new ArrayList<>();
            try (SseClient client = new SseClient("127.0.0.1", server.getLocalPort(), "k1")) {
                assertEquals(200, client.post("/v1/completions", "{\"a\":1}", (line, now) -> lines.add(line)));
                assertEquals(200, client.post("/v1/completions", "{\"a\":2}", (line, now) -> lines.add(line)));
            }
            List<String> one = List.of("data: {\"text\":\"é€\"}", "", "data: {\"n\":0}", "", "data: [DONE]", "");
            List<String> two = List.of("data: {\"text\":\"é€\"}", "", "data: {\"n\":1}", "", "data: [DONE]", "");
            List<String> both = new ArrayList<>(one);
            both.addAll(two);
            assertEquals(both, lines);
            List<String> requests = seen.get(10, TimeUnit.SECONDS);
            assertEquals(2, requests.size(), "both requests on one connection");
            assertTrue(requests.get(0).startsWith("POST /v1/completions HTTP/1.1\r\n"), requests.get(0));
            assertTrue(requests.get(0).contains("Authorization: Bearer k1\r\n"), requests.get(0));
            assertTrue(requests.get(1).endsWith("{\"a\":2}"), requests.get(1));
        }
    }

    @Test
    void anErrorIsReadByItsLengthAndItsStatusReturned() throws Exception {
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            String body = "{\"error\":{\"message\":\"no key\"}}";
            serve(server, 1, i -> List.of(ascii("HTTP/1.1 401 Unauthorized\r\nContent-Length: " + body.length()
                    + "\r\nContent-Type: application/json\r\n\r\n" + body)));
            List<String> lines = new ArrayList<>();
            try (SseClient client = new SseClient("127.0.0.1", server.getLocalPort(), null)) {
                assertEquals(401, client.post("/v1/completions", "{}", (line, now) -> lines.add(line)));
            }
            assertEquals(List.of(body), lines);
        }
    }

    @Test
    void aBrokenChunkFramingIsAnIoException() throws Exception {
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            serve(server, 1, i -> List.of(ascii("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\ndata\r\n")));
            try (SseClient client = new SseClient("127.0.0.1", server.getLocalPort(), null)) {
                IOException e = assertThrows(IOException.class, () -> client.post("/x", "{}", (line, now) -> { }));
                assertTrue(e.getMessage().contains("chunk size"), e.getMessage());
            }
        }
    }
}
