package io.troupe.ops.secret;

import io.troupe.data.io.AtomicFiles;
import io.troupe.worker.tls.ClusterTls;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.StringWriter;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Date;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * Makes a cluster's identity (what {@code troupe secret init DIR} writes, file names in
 * {@link ClusterTls}): a CA, a coordinator and a worker certificate it issues (ECDSA P-256, both
 * usable as TLS client and server, since every plane authenticates both ends), a trust store of
 * the CA, one random password for the PKCS#12 files, and a 32-byte HMAC key for checkpoints.
 * Certificates are built with BouncyCastle; keys, signatures and stores are the JDK's.
 *
 * <p>Every file is written atomically and readable by its owner only; the directory is made
 * {@code rwx------} if this call creates it.
 */
public final class ClusterSecrets {

    private static final String SIGNATURE = "SHA256withECDSA";

    /** Subject alternative names of the certificates unless told otherwise: this machine, for loopback HTTPS. */
    public static final List<String> DEFAULT_NAMES = List.of("localhost", "127.0.0.1");

    private final SecureRandom random = new SecureRandom();
    private final Duration validity;
    private final List<String> names;

    /** @param validity how long the certificates are valid from now; the names are {@link #DEFAULT_NAMES} */
    public ClusterSecrets(Duration validity) {
        this(validity, DEFAULT_NAMES);
    }

    /**
     * @param validity how long the certificates are valid from now
     * @param names the host names and IP addresses the coordinator and worker certificates name
     *     (subject alternative names), so an HTTPS client that checks the host accepts them
     * @throws IllegalArgumentException for a name that is neither a DNS name nor an IP address
     */
    public ClusterSecrets(Duration validity, List<String> names) {
        if (validity.isNegative() || validity.isZero()) {
            throw new IllegalArgumentException("validity must be positive, got " + validity);
        }
        this.validity = validity;
        this.names = List.copyOf(names);
        alternativeNames(this.names); // refuses a bad name now, before any file is written
    }

    /** The names as a subjectAltName value: IP literals as iPAddress entries, everything else as dNSName. */
    static GeneralNames alternativeNames(List<String> names) {
        GeneralName[] entries = new GeneralName[names.size()];
        for (int i = 0; i < entries.length; i++) {
            String name = names.get(i);
            if (isIpLiteral(name)) {
                entries[i] = new GeneralName(GeneralName.iPAddress, name);
            } else if (name.matches("(\\*\\.)?[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*")) {
                entries[i] = new GeneralName(GeneralName.dNSName, name);
            } else {
                throw new IllegalArgumentException("'" + name + "' is neither a host name (letters, digits, '-' and '.')"
                        + " nor an IPv4 or IPv6 address");
            }
        }
        return new GeneralNames(entries);
    }

    private static boolean isIpLiteral(String name) {
        if (name.contains(":")) {
            return name.matches("[0-9A-Fa-f:.]+"); // IPv6 (BouncyCastle parses the literal)
        }
        String[] parts = name.split("\\.", -1);
        if (parts.length != 4) {
            return false;
        }
        for (String part : parts) {
            if (!part.matches("[0-9]{1,3}") || Integer.parseInt(part) > 255) {
                return false;
            }
        }
        return true;
    }

    /** The files of {@code directory} that {@link #write} would replace. */
    public static List<Path> existing(Path directory) {
        List<Path> found = new ArrayList<>();
        for (String name : ClusterTls.FILES) {
            if (Files.exists(directory.resolve(name))) {
                found.add(directory.resolve(name));
            }
        }
        return found;
    }

    /**
     * Generates a new identity and writes its files into {@code directory}, replacing any there.
     *
     * @return the cluster's name (in the certificates' subjects)
     * @throws IOException if a file cannot be written
     */
    public String write(Path directory) throws IOException {
        if (!Files.isDirectory(directory)) {
            Files.createDirectories(directory);
            if (Files.getFileStore(directory).supportsFileAttributeView(PosixFileAttributeView.class)) {
                Files.setPosixFilePermissions(directory, PosixFilePermissions.fromString("rwx------"));
            }
        }
        String cluster = HexFormat.of().formatHex(bytes(6));
        String password = Base64.getUrlEncoder().withoutPadding().encodeToString(bytes(24));
        Map<String, byte[]> files = new LinkedHashMap<>();
        try {
            KeyPair caKeys = keyPair();
            X509Certificate ca = certificate(caKeys, null, new X500Name("CN=Troupe cluster CA,OU=" + cluster),
                    null, true);
            KeyPair coordinatorKeys = keyPair();
            X509Certificate coordinator = certificate(coordinatorKeys, caKeys.getPrivate(),
                    new X500Name("CN=troupe-coordinator,OU=" + cluster), ca, false);
            KeyPair workerKeys = keyPair();
            X509Certificate worker = certificate(workerKeys, caKeys.getPrivate(),
                    new X500Name("CN=troupe-worker,OU=" + cluster), ca, false);

            files.put(ClusterTls.CA_CERT, pem(ca));
            files.put(ClusterTls.CA_KEY_STORE, keyStore("ca", caKeys.getPrivate(), password, ca));
            files.put(ClusterTls.COORDINATOR_KEY_STORE,
                    keyStore("coordinator", coordinatorKeys.getPrivate(), password, coordinator, ca));
            files.put(ClusterTls.WORKER_KEY_STORE, keyStore("worker", workerKeys.getPrivate(), password, worker, ca));
            files.put(ClusterTls.TRUST_STORE, trustStore(ca, password));
        } catch (GeneralSecurityException | OperatorCreationException e) {
            throw new IllegalStateException("every Java 17 runtime makes P-256 keys and PKCS#12 stores", e);
        }
        files.put(ClusterTls.PASSWORD, (password + "\n").getBytes(StandardCharsets.US_ASCII));
        files.put(ClusterTls.HMAC_KEY, (HexFormat.of().formatHex(bytes(32)) + "\n").getBytes(StandardCharsets.US_ASCII));
        for (Map.Entry<String, byte[]> file : files.entrySet()) {
            ByteBuffer content = ByteBuffer.wrap(file.getValue());
            AtomicFiles.writeOwnerOnly(directory.resolve(file.getKey()), channel -> {
                while (content.hasRemaining()) {
                    channel.write(content);
                }
            });
        }
        return cluster;
    }

    private KeyPair keyPair() throws GeneralSecurityException {
        KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
        generator.initialize(new ECGenParameterSpec("secp256r1"), random);
        return generator.generateKeyPair();
    }

    // A CA certificate (self-signed when issuerKey is null) or a leaf for TLS clients and servers.
    private X509Certificate certificate(KeyPair subjectKeys, PrivateKey issuerKey, X500Name subject,
            X509Certificate issuer, boolean authority) throws GeneralSecurityException, OperatorCreationException, IOException {
        Instant now = Instant.now();
        X500Name issuerName = issuer == null ? subject : X500Name.getInstance(issuer.getSubjectX500Principal().getEncoded());
        X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(issuerName,
                new BigInteger(1, bytes(16)), Date.from(now.minus(Duration.ofMinutes(5))), // clock skew between nodes
                Date.from(now.plus(validity)), subject, subjectKeys.getPublic());
        JcaX509ExtensionUtils extensions = new JcaX509ExtensionUtils();
        builder.addExtension(Extension.subjectKeyIdentifier, false,
                extensions.createSubjectKeyIdentifier(subjectKeys.getPublic()));
        if (authority) {
            builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(0));
            builder.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
        } else {
            builder.addExtension(Extension.authorityKeyIdentifier, false,
                    extensions.createAuthorityKeyIdentifier(issuer));
            builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
            builder.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
            builder.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(
                    new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}));
            if (!names.isEmpty()) {
                // Host names for HTTPS clients (troupe serve --tls): they check the host they dialled is named here.
                builder.addExtension(Extension.subjectAlternativeName, false, alternativeNames(names));
            }
        }
        PrivateKey signer = issuerKey == null ? subjectKeys.getPrivate() : issuerKey;
        X509Certificate certificate = new JcaX509CertificateConverter()
                .getCertificate(builder.build(new JcaContentSignerBuilder(SIGNATURE).build(signer)));
        certificate.verify(issuer == null ? subjectKeys.getPublic() : issuer.getPublicKey());
        return certificate;
    }

    private static byte[] keyStore(String alias, PrivateKey key, String password, X509Certificate... chain)
            throws GeneralSecurityException, IOException {
        KeyStore store = KeyStore.getInstance("PKCS12");
        store.load(null, null);
        store.setKeyEntry(alias, key, password.toCharArray(), (Certificate[]) chain);
        return bytesOf(store, password);
    }

    private static byte[] trustStore(X509Certificate ca, String password) throws GeneralSecurityException, IOException {
        KeyStore store = KeyStore.getInstance("PKCS12");
        store.load(null, null);
        store.setCertificateEntry("troupe-ca", ca);
        return bytesOf(store, password);
    }

    private static byte[] bytesOf(KeyStore store, String password) throws GeneralSecurityException, IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        store.store(out, password.toCharArray());
        return out.toByteArray();
    }

    private static byte[] pem(X509Certificate certificate) throws IOException {
        StringWriter text = new StringWriter();
        try (JcaPEMWriter writer = new JcaPEMWriter(text)) {
            writer.writeObject(certificate);
        }
        return text.toString().getBytes(StandardCharsets.US_ASCII);
    }

    private byte[] bytes(int n) {
        byte[] bytes = new byte[n];
        random.nextBytes(bytes);
        return bytes;
    }
}
