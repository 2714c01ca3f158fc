package io.troupe.ops.cli;

import com.sun.net.httpserver.Authenticator;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpPrincipal;
import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.troupe.worker.metrics.TroupeMetrics;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.BindException;
import java.net.InetAddress;
import java.net.UnknownHostException;

/**
 * The Prometheus endpoint of {@code --metrics-bind HOST:PORT}: serves this process's
 * {@link TroupeMetrics} and the JVM's own gauges (memory pools, direct and mapped buffers, GC,
 * threads) as Prometheus text at {@code /metrics}, with the exporter of the Prometheus Java
 * client. With a token file every request needs {@code Authorization: Bearer <token>}.
 */
final class MetricsEndpoint implements AutoCloseable {
    private static boolean jvmRegistered;

    private final HTTPServer server;
    private final String host;

    private MetricsEndpoint(HTTPServer server, String host) {
        this.server = server;
        this.host = host;
    }

    /**
     * Starts serving {@link TroupeMetrics#process()}'s registry at {@code bind}.
     *
     * @param token the bearer token every scrape must send, or null for none
     * @param err where the endpoint's address (and a warning for an open non-loopback endpoint) is printed
     * @throws UserError if the host does not resolve or the port is in use
     */
    static MetricsEndpoint start(HostPort bind, TokenFile token, PrintWriter err) {
        PrometheusRegistry registry = TroupeMetrics.process().registry();
        registerJvmMetrics(registry);
        InetAddress address;
        try {
            address = InetAddress.getByName(bind.host());
        } catch (UnknownHostException e) {
            throw UserError.usage("--metrics-bind " + bind + ": host '" + bind.host() + "' does not resolve");
        }
        HTTPServer.Builder builder = HTTPServer.builder().inetAddress(address).port(bind.port()).registry(registry);
        if (token != null) {
            builder.authenticator(new BearerAuthenticator(token));
        } else if (!address.isLoopbackAddress()) {
            err.println("troupe: warning: the metrics on " + bind + " are readable by anyone who can reach that"
                    + " address (--metrics-open)");
        }
        HTTPServer server;
        try {
            server = builder.buildAndStart();
        } catch (BindException e) {
            throw UserError.usage("--metrics-bind " + bind + ": cannot listen there (" + e.getMessage()
                    + "); choose another port, or stop what uses it");
        } catch (IOException e) {
            throw UserError.io("--metrics-bind " + bind + ": cannot start the metrics endpoint: " + e.getMessage(), e);
        }
        MetricsEndpoint endpoint = new MetricsEndpoint(server, bind.host());
        err.println("troupe: serving metrics at " + endpoint.url());
        err.flush();
        return endpoint;
    }

    /** The JVM collectors, registered once per process (registering twice would clash names). */
    private static synchronized void registerJvmMetrics(PrometheusRegistry registry) {
        if (!jvmRegistered) {
            JvmMetrics.builder().register(registry);
            jvmRegistered = true;
        }
    }

    /** The port it listens on (the real one when 0 was asked). */
    int port() {
        return server.getPort();
    }

    /** The URL of the metrics. */
    String url() {
        String h = host.contains(":") ? "[" + host + "]" : host;
        return "http://" + h + ":" + port() + "/metrics";
    }

    @Override
    public void close() {
        server.close();
    }

    /** Lets a request through only with the right bearer token. */
    private static final class BearerAuthenticator extends Authenticator {
        private final TokenFile token;

        BearerAuthenticator(TokenFile token) {
            this.token = token;
        }

        @Override
        public Result authenticate(HttpExchange exchange) {
            if (token.acceptsBearer(exchange.getRequestHeaders().getFirst("Authorization"))) {
                return new Success(new HttpPrincipal("scraper", "troupe"));
            }
            exchange.getResponseHeaders().set("WWW-Authenticate", "Bearer realm=\"troupe\"");
            return new Failure(401);
        }
    }

    /**
     * Whether {@code bind} names a loopback address (an unresolvable host counts as not loopback;
     * {@link #start} reports it).
     */
    static boolean isLoopback(HostPort bind) {
        try {
            return InetAddress.getByName(bind.host()).isLoopbackAddress();
        } catch (UnknownHostException e) {
            return false;
        }
    }

    /** Parses {@code --metrics-bind}: HOST:PORT, or a bare PORT on loopback. */
    static HostPort parseBind(String text) {
        return text.contains(":") ? HostPort.parse(text, "--metrics-bind")
                : HostPort.parse("127.0.0.1:" + text, "--metrics-bind");
    }
}
