package io.troupe.ops.cli;

import static io.troupe.ops.cli.CliRun.troupe;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.troupe.worker.checkpoint.CheckpointKey;
import io.troupe.worker.tls.ClusterTls;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code troupe secret init DIR}: the files, their permissions, what they hold, and no silent overwrite. */
class SecretInitCommandTest {

    @TempDir
    Path tmp;

    @Test
    void writesACaTwoCertificatesItIssuedATrustStoreAndAKeyOwnerOnly() throws Exception {
        Path dir = tmp.resolve("secrets");
        CliRun run = troupe("secret", "init", dir).assertOk();
        assertTrue(run.out().contains("copy it to every node and pass --tls " + dir), run.toString());
        for (String name : ClusterTls.FILES) {
            Path file = dir.resolve(name);
            assertTrue(Files.isRegularFile(file), name);
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)), name);
        }
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir)));
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(ClusterTls.FILES.size(), files.count(), "no temporary files left");
        }

        String password = Files.readString(dir.resolve(ClusterTls.PASSWORD)).strip();
        X509Certificate ca = (X509Certificate) load(dir.resolve(ClusterTls.TRUST_STORE), password)
                .getCertificate("troupe-ca");
        assertTrue(ca.getBasicConstraints() >= 0, "the CA is a CA");
        for (String store : new String[] {ClusterTls.COORDINATOR_KEY_STORE, ClusterTls.WORKER_KEY_STORE}) {
            KeyStore keys = load(dir.resolve(store), password);
            String alias = keys.aliases().nextElement();
            X509Certificate leaf = (X509Certificate) keys.getCertificate(alias);
            leaf.verify(ca.getPublicKey()); // issued by the cluster CA
            assertEquals(-1, leaf.getBasicConstraints(), "a leaf is not a CA");
            assertTrue(leaf.getExtendedKeyUsage().containsAll(
                    java.util.List.of("1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2")), "server and client auth");
            assertTrue(keys.isKeyEntry(alias));
        }
        assertTrue(Files.readString(dir.resolve(ClusterTls.CA_CERT)).startsWith("-----BEGIN CERTIFICATE-----"));
        CheckpointKey.read(dir.resolve(ClusterTls.HMAC_KEY)); // a usable 32-byte key
        // What a node loads with --tls DIR.
        assertEquals(ClusterTls.Role.WORKER, ClusterTls.load(dir, ClusterTls.Role.WORKER).role());
    }

    @Test
    void refusesToOverwriteWithoutForceAndMakesANewIdentityWithIt() throws Exception {
        Path dir = tmp.resolve("secrets");
        troupe("secret", "init", dir).assertOk();
        byte[] ca = Files.readAllBytes(dir.resolve(ClusterTls.CA_CERT));
        troupe("secret", "init", dir).assertExit(TroupeCli.EXIT_USAGE)
                .assertOneLineError("already holds a cluster identity (ca.crt and 6 more); pass --force to replace it");
        assertArrayEquals(ca, Files.readAllBytes(dir.resolve(ClusterTls.CA_CERT)), "untouched");
        troupe("secret", "init", dir, "--force").assertOk();
        assertFalse(java.util.Arrays.equals(ca, Files.readAllBytes(dir.resolve(ClusterTls.CA_CERT))));
        troupe("secret", "init", tmp.resolve("other"), "--days", "0").assertExit(TroupeCli.EXIT_USAGE)
                .assertOneLineError("--days must be at least 1");
    }

    @Test
    void aNodeGivenAnIncompleteDirectoryIsToldWhatIsMissing() throws Exception {
        Path dir = tmp.resolve("secrets");
        troupe("secret", "init", dir).assertOk();
        Files.delete(dir.resolve(ClusterTls.WORKER_KEY_STORE));
        ClusterTls.TlsConfigException e = org.junit.jupiter.api.Assertions.assertThrows(
                ClusterTls.TlsConfigException.class, () -> ClusterTls.load(dir, ClusterTls.Role.WORKER));
        assertTrue(e.getMessage().endsWith("worker.p12 does not exist; --tls takes the directory 'troupe secret"
                + " init DIR' wrote (copy it whole to every node)"), e.getMessage());
    }

    private static KeyStore load(Path file, String password) throws Exception {
        KeyStore store = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(file)) {
            store.load(in, password.toCharArray());
        }
        return store;
    }
}
