package io.troupe.ops.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;

/**
 * A load generator for {@code troupe bench serve}: {@code clients} streaming clients, each
 * sending {@code requests} completions one after the other, against a running server. Measures
 * aggregate generated tokens per second, time to first token, inter-token latency (the gap
 * between two text chunks of one stream) and whole-request latency with HdrHistogram. The
 * clients run in the calling process, one thread and one connection each.
 */
public final class ServeBenchmark {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final java.lang.management.ThreadMXBean THREADS = java.lang.management.ManagementFactory.getThreadMXBean();

    /** One load level's numbers; latencies in milliseconds. */
    public record Result(int clients, int requests, long tokens, double seconds, double tokensPerSecond,
            double ttftP50Ms, double ttftP99Ms, double interTokenP50Ms, double interTokenP99Ms, double latencyP50Ms,
            long clientThreadCpuNanos) {
    }

    private final String host;
    private final int port;
    private final String prompt;
    private final int maxTokens;

    /**
     * Clients of a plain-HTTP server at {@code host:port}, each with its own keep-alive
     * connection ({@link SseClient}), in this process: their CPU time is part of the process's
     * and is reported separately ({@link Result#clientThreadCpuNanos()}).
     */
    public ServeBenchmark(String host, int port, String prompt, int maxTokens) {
        this.host = host;
        this.port = port;
        this.prompt = prompt;
        this.maxTokens = maxTokens;
    }

    /** Runs {@code clients} clients of {@code requests} streamed completions each, all at once. */
    public Result run(int clients, int requests) throws Exception {
        Histogram ttft = new Histogram(TimeUnit.MINUTES.toMicros(10), 3);
        Histogram interToken = new Histogram(TimeUnit.MINUTES.toMicros(10), 3);
        Histogram latency = new Histogram(TimeUnit.MINUTES.toMicros(10), 3);
        ExecutorService pool = Executors.newFixedThreadPool(clients);
        long start = System.nanoTime();
        long tokens = 0;
        java.util.concurrent.atomic.AtomicLong clientCpu = new java.util.concurrent.atomic.AtomicLong();
        try {
            List<CompletableFuture<Long>> done = new ArrayList<>();
            for (int c = 0; c < clients; c++) {
                int client = c;
                done.add(CompletableFuture.supplyAsync(() -> {
                    long made = 0;
                    long cpuBefore = THREADS.getCurrentThreadCpuTime();
                    try (SseClient connection = new SseClient(host, port, null)) {
                        for (int r = 0; r < requests; r++) {
                            made += stream(connection, client * 1000L + r, ttft, interToken, latency);
                        }
                    } finally {
                        clientCpu.addAndGet(THREADS.getCurrentThreadCpuTime() - cpuBefore);
                    }
                    return made;
                }, pool));
            }
            for (CompletableFuture<Long> d : done) {
                tokens += d.get(30, TimeUnit.MINUTES);
            }
        } finally {
            pool.shutdownNow();
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        return new Result(clients, clients * requests, tokens, seconds, tokens / seconds,
                ttft.getValueAtPercentile(50) / 1e3, ttft.getValueAtPercentile(99) / 1e3,
                interToken.getValueAtPercentile(50) / 1e3, interToken.getValueAtPercentile(99) / 1e3,
                latency.getValueAtPercentile(50) / 1e3, clientCpu.get());
    }

    /** One streamed completion on {@code client}'s connection; records its latencies and returns its completion tokens. */
    private long stream(SseClient client, long seed, Histogram ttft, Histogram interToken, Histogram latency) {
        try {
            String body = JSON.writeValueAsString(JSON.createObjectNode().put("prompt", prompt).put("max_tokens", maxTokens)
                    .put("temperature", 1.0).put("seed", seed).put("stream", true)
                    .set("stream_options", JSON.createObjectNode().put("include_usage", true)));
            long sent = System.nanoTime();
            long[] last = {-1};
            long[] completionTokens = {-1};
            StringBuilder refused = new StringBuilder();
            int status = client.post("/v1/completions", body, (line, now) -> {
                if (!line.startsWith("data: ")) {
                    if (refused.length() < 500) {
                        refused.append(line); // an error's body, or SSE framing (blank lines)
                    }
                    return;
                }
                if (line.equals("data: [DONE]")) {
                    return;
                }
                // Only the usage and error chunks are parsed: the clients share the machine with the
                // server, and a full JSON parse of every token chunk would be measured as the server's cost.
                if (line.contains("\"usage\"") || line.startsWith("data: {\"error\"")) {
                    JsonNode chunk = JSON.readTree(line.substring(6));
                    if (chunk.has("error")) {
                        throw new IllegalStateException("the server sent an error: " + chunk.get("error"));
                    }
                    completionTokens[0] = chunk.get("usage").get("completion_tokens").asLong();
                    return;
                }
                if (line.contains("\"text\":\"\"")) { // a chunk without text (a finish reason); quotes in text are escaped
                    return;
                }
                synchronized (this) {
                    if (last[0] < 0) {
                        ttft.recordValue((now - sent) / 1000);
                    } else {
                        interToken.recordValue((now - last[0]) / 1000);
                    }
                }
                last[0] = now;
            });
            if (status != 200) {
                throw new IllegalStateException("the server answered " + status + ": " + refused);
            }
            synchronized (this) {
                latency.recordValue((System.nanoTime() - sent) / 1000);
            }
            if (completionTokens[0] < 0) {
                throw new IllegalStateException("the stream ended without its usage chunk");
            }
            return completionTokens[0];
        } catch (Exception e) {
            throw new IllegalStateException("a benchmark request failed: " + e.getMessage(), e);
        }
    }
}
