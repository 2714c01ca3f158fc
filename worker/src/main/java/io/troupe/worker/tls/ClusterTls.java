package io.troupe.worker.tls;

import io.troupe.errors.TroupeException;
import io.troupe.errors.TroupeException.Kind;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.SecureRandom;
import java.util.List;
import java.util.Objects;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.TrustManagerFactory;

/**
 * One node's view of the cluster identity that {@code troupe secret init DIR} writes: its own
 * certificate and key, the cluster CA it trusts, and the files' password. Every plane (Artery,
 * the ring, the state transfer) authenticates both ends with it: a peer is admitted only if it
 * presents a certificate issued by the cluster CA, so a process without one cannot complete a
 * handshake, whatever it sends afterwards.
 *
 * <p>Host names are not verified: workers' addresses are not known when the certificates are
 * made (pods, DHCP), so the certificate proves membership of the cluster, not a host name.
 */
public final class ClusterTls {

    /** The CA's certificate, PEM: for inspection; nodes trust {@link #TRUST_STORE}. */
    public static final String CA_CERT = "ca.crt";
    /** The CA's key and certificate (PKCS#12): keep it off the nodes, it only issues certificates. */
    public static final String CA_KEY_STORE = "ca-key.p12";
    /** The coordinator's key and certificate chain (PKCS#12). */
    public static final String COORDINATOR_KEY_STORE = "coordinator.p12";
    /** The workers' key and certificate chain (PKCS#12). */
    public static final String WORKER_KEY_STORE = "worker.p12";
    /** The CA certificate as a trust store (PKCS#12). */
    public static final String TRUST_STORE = "truststore.p12";
    /** The password of every PKCS#12 file, one line of text. */
    public static final String PASSWORD = "store.pass";
    /** The cluster's HMAC key for signing checkpoints, hex text. */
    public static final String HMAC_KEY = "hmac.key";
    /** Every file {@code secret init} writes. */
    public static final List<String> FILES = List.of(CA_CERT, CA_KEY_STORE, COORDINATOR_KEY_STORE,
            WORKER_KEY_STORE, TRUST_STORE, PASSWORD, HMAC_KEY);

    /** TLS 1.3 only, as Artery's default; its suites all use forward-secret key exchange. */
    public static final String PROTOCOL = "TLSv1.3";

    /** Which certificate a node presents. */
    public enum Role {
        /** The coordinator ({@code coordinator}, {@code tune --external}, {@code serve}). */
        COORDINATOR(COORDINATOR_KEY_STORE),
        /** A worker. */
        WORKER(WORKER_KEY_STORE);

        private final String keyStore;

        Role(String keyStore) {
            this.keyStore = keyStore;
        }
    }

    private final Path directory;
    private final Role role;
    private final String password;
    private final SSLContext context;

    private ClusterTls(Path directory, Role role, String password, SSLContext context) {
        this.directory = directory;
        this.role = role;
        this.password = password;
        this.context = context;
    }

    /**
     * Loads the identity of {@code role} from a {@code secret init} directory.
     *
     * @throws TroupeException (CONFIG) if a file is missing or unreadable, or the stores do not
     *     open with the password; one line naming the file and the fix
     */
    public static ClusterTls load(Path directory, Role role) {
        Objects.requireNonNull(role, "role");
        Path dir = directory.toAbsolutePath().normalize();
        String password = readPassword(dir.resolve(PASSWORD));
        KeyStore keys = keyStore(dir.resolve(role.keyStore), password);
        KeyStore trust = keyStore(dir.resolve(TRUST_STORE), password);
        try {
            KeyManagerFactory keyManagers = KeyManagerFactory.getInstance(
                    KeyManagerFactory.getDefaultAlgorithm());
            keyManagers.init(keys, password.toCharArray());
            TrustManagerFactory trustManagers = TrustManagerFactory.getInstance(
                    TrustManagerFactory.getDefaultAlgorithm());
            trustManagers.init(trust);
            SSLContext context = SSLContext.getInstance(PROTOCOL);
            context.init(keyManagers.getKeyManagers(), trustManagers.getTrustManagers(),
                    new SecureRandom());
            return new ClusterTls(dir, role, password, context);
        } catch (GeneralSecurityException e) {
            throw config("the TLS files in " + dir + " do not make a TLS context (" + e.getMessage()
                    + "); recreate them with 'troupe secret init " + dir + " --force'", e);
        }
    }

    /** The directory the identity came from. */
    public Path directory() {
        return directory;
    }

    /** The certificate this node presents. */
    public Role role() {
        return role;
    }

    /** The file holding the key and certificate this node presents. */
    public Path keyStore() {
        return directory.resolve(role.keyStore);
    }

    /** The trust store holding the cluster CA. */
    public Path trustStore() {
        return directory.resolve(TRUST_STORE);
    }

    /** The PKCS#12 files' password (for Pekko's configuration, which takes it as text). */
    public String password() {
        return password;
    }

    /** The cluster's checkpoint-signing key file. */
    public Path hmacKey() {
        return directory.resolve(HMAC_KEY);
    }

    /** The context every engine comes from. */
    public SSLContext context() {
        return context;
    }

    /** An engine for the side that accepts connections: it requires the peer's certificate. */
    public SSLEngine serverEngine() {
        SSLEngine engine = context.createSSLEngine();
        engine.setUseClientMode(false);
        SSLParameters parameters = engine.getSSLParameters();
        parameters.setProtocols(new String[] {PROTOCOL});
        parameters.setNeedClientAuth(true);
        engine.setSSLParameters(parameters);
        return engine;
    }

    /** An engine for the side that connects: it presents this node's certificate when asked. */
    public SSLEngine clientEngine(String peerHost, int peerPort) {
        SSLEngine engine = context.createSSLEngine(peerHost, peerPort);
        engine.setUseClientMode(true);
        SSLParameters parameters = engine.getSSLParameters();
        parameters.setProtocols(new String[] {PROTOCOL});
        engine.setSSLParameters(parameters);
        return engine;
    }

    private static String readPassword(Path file) {
        try {
            String password = Files.readString(file, StandardCharsets.UTF_8).strip();
            if (password.isEmpty()) {
                throw config(file + " is empty; recreate the cluster's files with 'troupe secret init "
                        + file.getParent() + " --force'", null);
            }
            return password;
        } catch (NoSuchFileException e) {
            throw missing(file, e);
        } catch (IOException e) {
            throw config("cannot read " + file + ": " + e + "; check its permissions", e);
        }
    }

    private static KeyStore keyStore(Path file, String password) {
        try (InputStream in = Files.newInputStream(file)) {
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(in, password.toCharArray());
            return store;
        } catch (NoSuchFileException e) {
            throw missing(file, e);
        } catch (IOException | GeneralSecurityException e) {
            throw config("cannot open " + file + " with the password in " + file.resolveSibling(PASSWORD)
                    + " (" + e.getMessage() + "); copy the directory 'troupe secret init' made, whole", e);
        }
    }

    private static TroupeException missing(Path file, Exception cause) {
        return config(file + " does not exist; --tls takes the directory 'troupe secret init DIR' wrote"
                + " (copy it whole to every node)", cause);
    }

    private static TroupeException config(String message, Throwable cause) {
        return new TlsConfigException(message, cause);
    }

    /** A TLS directory that cannot be used. */
    public static final class TlsConfigException extends TroupeException {
        private static final long serialVersionUID = 1L;

        TlsConfigException(String message, Throwable cause) {
            super(Kind.CONFIG, message, cause);
        }
    }
}
