package io.troupe.ops.cli;

import io.troupe.ops.secret.ClusterSecrets;
import io.troupe.worker.tls.ClusterTls;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code troupe secret init DIR}: a new cluster CA, coordinator and worker certificates, and an HMAC key. */
@Command(name = "init",
        description = {"Write a new cluster identity into DIR: a CA (ca.crt, ca-key.p12), a coordinator and a worker"
                + " certificate (coordinator.p12, worker.p12), the CA as a trust store (truststore.p12), the stores'"
                + " password (store.pass) and an HMAC key for checkpoints (hmac.key), each readable by its owner only.",
            "Copy DIR to every node and pass --tls DIR; keep ca-key.p12 off the nodes."},
        mixinStandardHelpOptions = true)
final class SecretInitCommand implements Callable<Integer> {

    @Spec
    private CommandSpec spec;

    @Parameters(index = "0", paramLabel = "DIR", description = "Directory to write the files into (created if missing).")
    private Path directory;

    @Option(names = "--days", paramLabel = "N", defaultValue = "825",
            description = "How long the certificates are valid (default: ${DEFAULT-VALUE} days).")
    private int days;

    @Option(names = "--san", paramLabel = "NAME", split = ",",
            description = "Host name or IP address the coordinator and worker certificates name (subject alternative"
                    + " names, what an HTTPS client checks, e.g. for 'troupe serve --tls'); repeat or separate with commas"
                    + " (default: localhost,127.0.0.1).")
    private List<String> names;

    @Option(names = "--force", description = "Replace the identity already in DIR (every node then needs the new files).")
    private boolean force;

    @Override
    public Integer call() throws IOException {
        if (days < 1) {
            throw UserError.usage("--days must be at least 1, got " + days);
        }
        List<Path> existing = ClusterSecrets.existing(directory);
        if (!existing.isEmpty() && !force) {
            throw UserError.usage(directory + " already holds a cluster identity (" + existing.get(0).getFileName()
                    + (existing.size() > 1 ? " and " + (existing.size() - 1) + " more" : "") + "); pass --force to"
                    + " replace it, after which every node needs the new files");
        }
        ClusterSecrets secrets;
        try {
            secrets = new ClusterSecrets(Duration.ofDays(days), names == null ? ClusterSecrets.DEFAULT_NAMES : names);
        } catch (IllegalArgumentException e) {
            throw UserError.usage("--san: " + e.getMessage());
        }
        String cluster = secrets.write(directory);
        PrintWriter out = spec.commandLine().getOut();
        out.printf("cluster %s: wrote %s into %s (owner-only); copy it to every node and pass --tls %s (keep %s off"
                + " the nodes)%n", cluster, String.join(", ", ClusterTls.FILES), directory, directory,
                ClusterTls.CA_KEY_STORE);
        out.flush();
        return TroupeCli.EXIT_OK;
    }
}
