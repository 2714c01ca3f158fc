package io.troupe.ops.dashboard;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.Done;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.IncomingConnection;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.model.ContentType;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.HttpMethods;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.headers.CacheControl;
import org.apache.pekko.http.javadsl.model.headers.CacheDirectives;
import org.apache.pekko.http.javadsl.model.headers.Connection;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;

/**
 * The live dashboard of a run on pekko-http: {@code GET /} is one page (HTML, JS and an SVG
 * chart, from the jar), {@code GET /events} a server-sent-event stream that sends its
 * {@link DashboardFeed} (a run's {@link DashboardState}, a study's or a server's) as JSON once a period (a second
 * for the commands): whole on connecting (and so on every reconnect), then only what changed, so
 * the points of all the steps taken within a period travel together in one message, never one
 * message per step. Read-only: nothing else is served. With a
 * token every request must carry it as {@code Authorization: Bearer T} or {@code ?token=T}
 * (an EventSource cannot set headers); a wrong or missing one gets 401.
 *
 * <p>Closing the server ends every open stream with the final state and an {@code end} event, so
 * a page shows how the run finished (its last steps included, however short the last period) and
 * stops reconnecting to a server that is gone.
 */
public final class DashboardServer implements AutoCloseable {
    private static final ContentType EVENT_STREAM = ContentTypes.parse("text/event-stream");
    private static final String PAGE = "/io/troupe/ops/dashboard/dashboard.html";
    private static final String TICK = "tick";
    private static final String END = "end";
    /** How long closing waits for the streams' connections to end (a stuck client must not hold the command). */
    private static final Duration FINAL_FLUSH = Duration.ofSeconds(2);

    private final ActorSystem system;
    private final DashboardFeed<?> feed;
    private final byte[] token;
    private final byte[] page;
    private final Duration period;
    /** Completed with {@link #END} by {@link #close}: each stream's last beat. */
    private final CompletableFuture<String> ending = new CompletableFuture<>();
    /** The end of each open connection that carries an event stream, so closing can wait until the final messages are out. */
    private final Set<CompletableFuture<Done>> streams = ConcurrentHashMap.newKeySet();
    private ServerBinding binding;

    private DashboardServer(ActorSystem system, DashboardFeed<?> feed, byte[] token, Duration period) {
        this.system = system;
        this.feed = feed;
        this.token = token;
        this.period = period;
        this.page = readPage();
    }

    /**
     * Starts serving {@code feed} (a run's {@link DashboardState}, a study's or a server's) on
     * {@code host:port} (port 0 picks a free one).
     *
     * @param token the token every request must carry, or null for none (loopback only: the caller checks)
     * @param period how often {@code /events} sends the state
     * @throws IOException if the address cannot be bound (e.g. the port is in use)
     */
    public static DashboardServer start(String host, int port, DashboardFeed<?> feed, String token, Duration period)
            throws IOException {
        Config config = ConfigFactory.parseString(String.join("\n",
                "pekko.actor.provider = local",
                "pekko.loglevel = WARNING",
                "pekko.stdout-loglevel = WARNING",
                "pekko.http.server.server-header = troupe",
                // The timer wheel wakes its thread once a tick for the whole run (Pekko's default 10 ms:
                // 100 times a second). The stream ticks once a period, so a quarter of it is precise
                // enough: 250 ms for the commands' one-second period, 4 wake-ups a second.
                "pekko.scheduler.tick-duration = " + tickMillis(period) + "ms",
                // One message a period needs no pools sized to the machine (4-64 threads each by
                // default): every extra worker is one more thread woken and parked on the training
                // machine's busy cores. See bench/DashboardThreads.java for what the threads cost.
                "pekko.actor.default-dispatcher.fork-join-executor { parallelism-min = 1, parallelism-max = 2 }",
                "pekko.actor.internal-dispatcher.fork-join-executor { parallelism-min = 1, parallelism-max = 1 }",
                "pekko.coordinated-shutdown.run-by-jvm-shutdown-hook = off"))
                .withFallback(ConfigFactory.load());
        ActorSystem system = ActorSystem.create("troupe-dashboard", config);
        DashboardServer server = new DashboardServer(system, feed,
                token == null ? null : token.getBytes(StandardCharsets.UTF_8), period);
        try {
            // Connection by connection (not bindSync), so that closing can wait for each to end.
            server.binding = Http.get(system).newServerAt(host, port).connectionSource()
                    .to(Sink.foreach(server::serve)).run(system)
                    .toCompletableFuture().get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            system.terminate();
            Throwable cause = e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e;
            String why = cause.getCause() != null ? cause.getCause().getMessage() : cause.getMessage();
            throw new IOException(why, cause);
        }
        return server;
    }

    /** The scheduler's tick for a stream of this period: a quarter of it, between 10 ms and 250 ms. */
    static long tickMillis(Duration period) {
        return Math.max(10, Math.min(250, period.toMillis() / 4));
    }

    /** The port listened on (the chosen one when 0 was asked). */
    public int port() {
        return binding.localAddress().getPort();
    }

    HttpResponse handle(HttpRequest request) {
        if (!authorized(request)) {
            return HttpResponse.create().withStatus(401)
                    .addHeader(RawHeader.create("WWW-Authenticate", "Bearer realm=\"troupe\""))
                    .withEntity("a valid dashboard token is required: send 'Authorization: Bearer TOKEN' or ?token=TOKEN\n");
        }
        if (request.method() != HttpMethods.GET) {
            return HttpResponse.create().withStatus(405).withEntity("the dashboard is read-only\n");
        }
        String path = request.getUri().path();
        if (path.equals("/") || path.equals("/index.html")) {
            return HttpResponse.create().withEntity(HttpEntities.create(ContentTypes.TEXT_HTML_UTF8, page))
                    .addHeader(CacheControl.create(CacheDirectives.NO_CACHE));
        }
        if (path.equals("/events")) {
            // One cursor per stream: the first message is the whole state, the next ones what changed.
            Source<ByteString, ?> events = stream(feed);
            // The connection closes with the stream, so the final message is followed by a clean
            // close (a kept-alive connection would be reset when the server stops, losing it).
            return HttpResponse.create().addHeader(CacheControl.create(CacheDirectives.NO_CACHE))
                    .addHeader(Connection.create("close"))
                    .withEntity(HttpEntities.createChunked(EVENT_STREAM, events));
        }
        return HttpResponse.create().withStatus(404).withEntity("not found: the dashboard serves / and /events\n");
    }

    private <C> Source<ByteString, ?> stream(DashboardFeed<C> feed) {
        // A beat per period, and one more when the server closes: the stream's last.
        Source<String, ?> beats = Source.tick(Duration.ZERO, period, TICK)
                .merge(Source.completionStage(ending))
                .takeWhile(TICK::equals, true);
        return beats.statefulMap(feed::cursor,
                        (cursor, beat) -> Pair.create(cursor, ByteString.fromString(message(feed.next(cursor), beat),
                                StandardCharsets.UTF_8)),
                        cursor -> Optional.<ByteString>empty());
    }

    /** One server-sent event of {@code json}; after the final one, an {@code end} event that tells the page to stop. */
    static String message(String json, String beat) {
        String data = "data: " + json + "\n\n";
        return beat.equals(END) ? data + "event: end\ndata: the server has stopped\n\n" : data;
    }

    /**
     * Answers one connection's requests. A connection that carries an event stream is tracked
     * until it ends (either side closing it), for {@link #close}; others (the page, kept alive by
     * a browser) are not waited for.
     */
    private void serve(IncomingConnection connection) {
        CompletableFuture<Done> streamEnded = new CompletableFuture<>();
        CompletionStage<Done> ended = connection.handleWith(Flow.of(HttpRequest.class)
                .map(request -> {
                    HttpResponse response = handle(request);
                    if (response.entity().getContentType().equals(EVENT_STREAM)) {
                        streams.add(streamEnded);
                    }
                    return response;
                })
                .watchTermination((materialized, done) -> done), Materializer.matFromSystem(system));
        ended.whenComplete((d, failure) -> {
            streams.remove(streamEnded);
            streamEnded.complete(Done.getInstance());
        });
    }

    private boolean authorized(HttpRequest request) {
        if (token == null) {
            return true;
        }
        Optional<HttpHeader> header = request.getHeader("Authorization");
        if (header.isPresent() && header.get().value().startsWith("Bearer ")
                && matches(header.get().value().substring("Bearer ".length()).trim())) {
            return true;
        }
        return request.getUri().query().get("token").map(this::matches).orElse(false);
    }

    private boolean matches(String candidate) {
        return MessageDigest.isEqual(token, candidate.getBytes(StandardCharsets.UTF_8));
    }

    private static byte[] readPage() {
        try (InputStream in = DashboardServer.class.getResourceAsStream(PAGE)) {
            if (in == null) {
                throw new IllegalStateException("the dashboard page " + PAGE + " is missing from the jar");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Stops listening. Each open event stream first sends the final state and an {@code end}
     * event and ends its connection; closing waits up to {@link #FINAL_FLUSH} for those connections,
     * then stops regardless.
     */
    @Override
    public void close() {
        // Every stream's last beat: its final message, then the end of its connection (the
        // response says "Connection: close", and a page closes its side on "end"). The system
        // stops only after the connections end: stopping it earlier resets them, and a client
        // that had not yet read the final message loses it.
        ending.complete(END);
        try {
            if (binding != null) {
                binding.unbind().toCompletableFuture().get(10, TimeUnit.SECONDS);
            }
            CompletableFuture.allOf(streams.toArray(CompletableFuture[]::new)).get(FINAL_FLUSH.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            // A client that does not read its final message loses it; stopping the system closes its connection.
        } finally {
            system.terminate();
            try {
                system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (Exception e) {
                // A system slow to stop holds nothing the run needs; the command ends regardless.
            }
        }
    }
}
