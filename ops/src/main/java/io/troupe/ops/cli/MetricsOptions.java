package io.troupe.ops.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/**
 * {@code --metrics-bind HOST:PORT} and {@code --metrics-token-file FILE}: serve this process's
 * Prometheus metrics ({@link MetricsEndpoint}). Off unless asked; a bare PORT binds loopback.
 * Use it with {@code @Mixin MetricsOptions metrics;} and {@code try (var m = metrics.start(err))}.
 */
final class MetricsOptions {

    @Option(names = "--metrics-bind", paramLabel = "HOST:PORT",
            description = "Serve Prometheus metrics at http://HOST:PORT/metrics (a bare PORT means 127.0.0.1:PORT;"
                    + " port 0 picks a free one). Off by default.")
    private String bind;

    @Option(names = "--metrics-token-file", paramLabel = "FILE",
            description = "With --metrics-bind: every scrape must send 'Authorization: Bearer <the file's first line>'.")
    private Path tokenFile;

    @Option(names = "--metrics-open",
            description = "Allow --metrics-bind on a non-loopback address without --metrics-token-file: the metrics"
                    + " (read-only) are then readable by anyone who can reach it, as Prometheus scraping by pod"
                    + " annotation needs. Without it such a bind is refused.")
    private boolean open;

    /** An endpoint to close when the command ends. */
    interface Running extends AutoCloseable {
        @Override
        void close();
    }

    /**
     * Starts the endpoint if {@code --metrics-bind} was given; a no-op otherwise.
     *
     * @throws UserError if the options are wrong or the port is in use
     */
    Running start(PrintWriter err) {
        if (bind == null) {
            if (tokenFile != null || open) {
                throw UserError.usage((open ? "--metrics-open" : "--metrics-token-file")
                        + " applies to --metrics-bind; add --metrics-bind HOST:PORT");
            }
            return () -> { };
        }
        HostPort at = MetricsEndpoint.parseBind(bind);
        if (tokenFile == null && !open && !MetricsEndpoint.isLoopback(at)) {
            throw UserError.usage("--metrics-bind " + bind + " is reachable from other hosts: add"
                    + " --metrics-token-file FILE to require a bearer token, or --metrics-open to serve them to anyone");
        }
        if (open && tokenFile != null) {
            throw UserError.usage("--metrics-open serves the metrics without a token, --metrics-token-file requires one;"
                    + " pass one of them");
        }
        TokenFile token = tokenFile == null ? null : TokenFile.read(tokenFile, "--metrics-token-file");
        MetricsEndpoint endpoint = MetricsEndpoint.start(at, token, err);
        return endpoint::close;
    }
}
