package io.troupe.ops.cli;

import io.troupe.ops.dashboard.DashboardFeed;
import io.troupe.ops.dashboard.DashboardServer;
import io.troupe.ops.dashboard.DashboardState;
import io.troupe.worker.run.TrainListener;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import picocli.CommandLine.Option;

/**
 * {@code --dashboard HOST:PORT} and {@code --dashboard-token-file FILE}: a live page of the run
 * ({@link DashboardServer}) fed by a {@link DashboardState} listener. Off unless asked; a bare
 * PORT binds loopback; any other address needs a token file.
 */
final class DashboardOptions {

    @Option(names = "--dashboard", paramLabel = "HOST:PORT",
            description = "Serve a live dashboard of the run at http://HOST:PORT/ (a bare PORT means 127.0.0.1:PORT;"
                    + " port 0 picks a free one). A non-loopback HOST needs --dashboard-token-file. Off by default.")
    private String bind;

    @Option(names = "--dashboard-token-file", paramLabel = "FILE",
            description = "With --dashboard: every request must send 'Authorization: Bearer <the file's first line>'"
                    + " or ?token=<it> (open http://HOST:PORT/?token=... in a browser).")
    private Path tokenFile;

    /** A dashboard to close when the command ends; its listener joins the run's monitors. */
    interface Running extends AutoCloseable {
        /** The listener that feeds the page ({@link TrainListener#SILENT} when there is none). */
        TrainListener listener();

        @Override
        void close();
    }

    /** A started dashboard server; closing it stops it. */
    interface AutoCloseableServer extends AutoCloseable {
        @Override
        void close();
    }

    /** Whether {@code --dashboard} was given (a token file without it is refused by {@link #serve}). */
    boolean given() {
        if (bind == null && tokenFile != null) {
            throw UserError.usage("--dashboard-token-file applies to --dashboard; add --dashboard HOST:PORT");
        }
        return bind != null;
    }

    /**
     * Serves {@code feed} (a study's or a server's page) at {@code --dashboard}, which must be
     * {@link #given}; says where on {@code err}.
     *
     * @throws UserError if the options are wrong or the port is in use
     */
    AutoCloseableServer serve(PrintWriter err, DashboardFeed<?> feed) {
        HostPort at = bind.contains(":") ? HostPort.parse(bind, "--dashboard")
                : HostPort.parse("127.0.0.1:" + bind, "--dashboard");
        InetAddress address;
        try {
            address = InetAddress.getByName(at.host());
        } catch (UnknownHostException e) {
            throw UserError.usage("--dashboard " + at + ": host '" + at.host() + "' does not resolve");
        }
        if (tokenFile == null && !address.isLoopbackAddress()) {
            throw UserError.usage("--dashboard " + at + " is reachable beyond this machine; add --dashboard-token-file"
                    + " FILE (for example: openssl rand -hex 24 > FILE), or bind 127.0.0.1");
        }
        String token = tokenFile == null ? null : TokenFile.read(tokenFile, "--dashboard-token-file").value();
        DashboardServer server;
        try {
            server = DashboardServer.start(at.host(), at.port(), feed, token, Duration.ofSeconds(1));
        } catch (IOException e) {
            throw UserError.usage("--dashboard " + at + ": cannot listen there (" + e.getMessage()
                    + "); choose another port, or stop what uses it");
        }
        String h = at.host().contains(":") ? "[" + at.host() + "]" : at.host();
        err.println("troupe: dashboard at http://" + h + ":" + server.port() + "/" + (token == null ? "" : "?token=..."));
        err.flush();
        return server::close;
    }

    /**
     * Starts the dashboard of the run in {@code runDir} if {@code --dashboard} was given; a no-op otherwise.
     *
     * @throws UserError if the options are wrong or the port is in use
     */
    Running start(PrintWriter err, Path runDir) {
        if (bind == null) {
            if (tokenFile != null) {
                throw UserError.usage("--dashboard-token-file applies to --dashboard; add --dashboard HOST:PORT");
            }
            return new Running() {
                @Override
                public TrainListener listener() {
                    return TrainListener.SILENT;
                }

                @Override
                public void close() {
                }
            };
        }
        DashboardState state = new DashboardState(runDir.resolve("events.jsonl"), Clock.systemUTC());
        AutoCloseableServer server = serve(err, state);
        return new Running() {
            @Override
            public TrainListener listener() {
                return state;
            }

            @Override
            public void close() {
                server.close();
            }
        };
    }
}
