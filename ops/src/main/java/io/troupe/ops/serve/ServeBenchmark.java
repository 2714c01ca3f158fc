package io.troupe.ops.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.HdrHistogram.Histogram;

/**
 * A load generator for {@code troupe bench serve}: {@code clients} streaming clients, each
 * sending {@code requests} completions one after the other, against a running server. Measures
 * aggregate generated tokens per second, time to first token, inter-token latency (the gap
 * between two text chunks of one stream) and whole-request latency with HdrHistogram.
 */
public final class ServeBenchmark {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final java.lang.management.ThreadMXBean THREADS = java.lang.management.ManagementFactory.getThreadMXBean();

    /** One load level's numbers; latencies in milliseconds. */
    public record Result(int clients, int requests, long tokens, double seconds, double tokensPerSecond,
            double ttftP50Ms, double ttftP99Ms, double interTokenP50Ms, double interTokenP99Ms, double latencyP50Ms,
            long clientThreadCpuNanos) {
    }

    private final String baseUrl;
    private final String prompt;
    private final int maxTokens;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    public ServeBenchmark(String baseUrl, String prompt, int maxTokens) {
        this.baseUrl = baseUrl;
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
                    for (int r = 0; r < requests; r++) {
                        made += stream(client * 1000L + r, ttft, interToken, latency);
                    }
                    clientCpu.addAndGet(THREADS.getCurrentThreadCpuTime() - cpuBefore);
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

    /** One streamed completion; records its latencies and returns its completion tokens. */
    private long stream(long seed, Histogram ttft, Histogram interToken, Histogram latency) {
        try {
            String body = JSON.writeValueAsString(JSON.createObjectNode().put("prompt", prompt).put("max_tokens", maxTokens)
                    .put("temperature", 1.0).put("seed", seed).put("stream", true)
                    .set("stream_options", JSON.createObjectNode().put("include_usage", true)));
            HttpRequest request = HttpRequest.newBuilder(URI.create(baseUrl + "/v1/completions"))
                    .timeout(Duration.ofMinutes(10)).POST(HttpRequest.BodyPublishers.ofString(body)).build();
            long sent = System.nanoTime();
            HttpResponse<Stream<String>> response = http.send(request, HttpResponse.BodyHandlers.ofLines());
            if (response.statusCode() != 200) {
                throw new IllegalStateException("the server answered " + response.statusCode());
            }
            long last = -1;
            long completionTokens = -1;
            for (String line : (Iterable<String>) response.body()::iterator) {
                if (!line.startsWith("data: ") || line.equals("data: [DONE]")) {
                    continue;
                }
                long now = System.nanoTime();
                // Only the usage and error chunks are parsed: the clients share the machine with the
                // server, and a full JSON parse of every token chunk would be measured as the server's cost.
                if (line.contains("\"usage\"") || line.startsWith("data: {\"error\"")) {
                    JsonNode chunk = JSON.readTree(line.substring(6));
                    if (chunk.has("error")) {
                        throw new IllegalStateException("the server sent an error: " + chunk.get("error"));
                    }
                    completionTokens = chunk.get("usage").get("completion_tokens").asLong();
                    continue;
                }
                if (line.contains("\"text\":\"\"")) { // a chunk without text (a finish reason); quotes in text are escaped
                    continue;
                }
                synchronized (this) {
                    if (last < 0) {
                        ttft.recordValue((now - sent) / 1000);
                    } else {
                        interToken.recordValue((now - last) / 1000);
                    }
                }
                last = now;
            }
            synchronized (this) {
                latency.recordValue((System.nanoTime() - sent) / 1000);
            }
            if (completionTokens < 0) {
                throw new IllegalStateException("the stream ended without its usage chunk");
            }
            return completionTokens;
        } catch (Exception e) {
            throw new IllegalStateException("a benchmark request failed: " + e.getMessage(), e);
        }
    }
}
