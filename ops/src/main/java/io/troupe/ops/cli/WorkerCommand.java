package io.troupe.ops.cli;

import io.troupe.coordinator.ClusterNode;
import io.troupe.worker.tls.ClusterTls;
import io.troupe.worker.session.WorkerSettings;
import io.troupe.worker.engine.Device;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code troupe worker}: joins a coordinator and trains the jobs it is given. */
@Command(name = "worker",
        description = {"Join a coordinator (troupe coordinator or troupe tune --external) and run its training steps.",
            "Exits when the coordinator leaves; SIGTERM leaves the job at the next step boundary.",
            "A worker the coordinator refuses (another Troupe version, other data-plane settings) exits at once (1)."},
        mixinStandardHelpOptions = true)
final class WorkerCommand implements Callable<Integer> {

    @Spec
    private CommandSpec spec;

    @Option(names = "--join", required = true, paramLabel = "HOST:PORT", description = "The coordinator's cluster address.")
    private String join;

    @Option(names = "--bind", defaultValue = "127.0.0.1", paramLabel = "HOST",
            description = "Interface for this worker's cluster and data-plane sockets (default: ${DEFAULT-VALUE}).")
    private String bind;

    @Option(names = "--join-timeout", paramLabel = "SECONDS",
            description = "How long to wait for the coordinator: first for its name to resolve (a DNS name such as a"
                    + " Kubernetes Service's), then for it to answer (default: troupe.cluster.join-timeout, 30 s).")
    private Integer joinTimeoutSeconds;

    @Option(names = "--standby",
            description = {"Offer this worker as a hot spare: it joins and prepares the job (data, model, graphs) like"
                    + " any worker, then waits in reserve. It takes a ring seat only when no regular worker can fill"
                    + " it: after a ring member fails, or when --max-workers leaves room."})
    private boolean standby;

    @Mixin
    private ThreadsOption threads;

    @Mixin
    private WireLimitOption wireLimit;

    @Mixin
    private DeviceOption device;

    @Mixin
    private MetricsOptions metrics;

    @Mixin
    private SigningOptions signing;

    @Mixin
    private TlsOptions tls;

    @Override
    public Integer call() throws InterruptedException {
        HostPort coordinator = HostPort.parse(join, "--join");
        if (coordinator.port() == 0) {
            throw UserError.usage("--join needs the coordinator's real port, not 0");
        }
        if (joinTimeoutSeconds != null && joinTimeoutSeconds < 1) {
            throw UserError.usage("--join-timeout must be at least 1 second, got " + joinTimeoutSeconds);
        }
        Device dev = device.device();
        io.troupe.worker.allreduce.RingSettings ring = wireLimit.apply(ClusterNode.dataPlaneSettings());
        java.util.Optional<ClusterTls> tls = this.tls.load(ClusterTls.Role.WORKER, bind, "--bind");
        signing.install(tls.map(ClusterTls::hmacKey).orElse(null), true);
        ClusterNode.Timings configured = ClusterNode.Timings.from(ClusterNode.config(bind, 0, List.of()));
        Duration joinTimeout = joinTimeoutSeconds == null ? configured.joinTimeout() : Duration.ofSeconds(joinTimeoutSeconds);
        PrintWriter out = spec.commandLine().getOut();
        // The time spent waiting for the name counts against the same budget as the join itself.
        Duration left = new CoordinatorResolver().await(coordinator, joinTimeout, out);
        ClusterNode.Timings timings = new ClusterNode.Timings(configured.stepTimeout(), configured.verifyInterval(),
                left.compareTo(Duration.ofSeconds(1)) < 0 ? Duration.ofSeconds(1) : left, configured.coordinatorWait(),
                configured.leaveTimeout());
        out.printf("worker joining %s (%d threads, %s%s%s)%n", coordinator, threads.threads(), dev,
                tls.isPresent() ? ", TLS" : "", standby ? ", standby" : "");
        out.flush();
        String error;
        try (MetricsOptions.Running served = metrics.start(spec.commandLine().getErr())) {
            error = ClusterNode.runWorker(coordinator.host(), coordinator.port(), bind,
                    new WorkerSettings(threads.threads(), dev, TroupeVersion.current(), standby), ring,
                    timings, timings.stepTimeout(), tls);
        }
        if (error != null) {
            throw UserError.cluster(error);
        }
        out.println("worker done: its coordinator finished and left the cluster (or this worker was asked to stop)");
        out.flush();
        return TroupeCli.EXIT_OK;
    }
}
