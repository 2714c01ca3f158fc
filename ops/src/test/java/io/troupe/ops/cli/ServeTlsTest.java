package io.troupe.ops.cli;

import static io.troupe.ops.cli.CliRun.troupe;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.troupe.ops.inference.DecodeBenchmark;
import io.troupe.ops.secret.ClusterSecrets;
import io.troupe.ops.serve.OpenAiServer;
import io.troupe.ops.serve.ServeLimits;
import io.troupe.ops.serve.monitor.MonitorSettings;
import io.troupe.worker.tls.ClusterTls;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code troupe serve --tls DIR}: HTTPS with the certificate {@code troupe secret init} made,
 * checked by the JDK's HttpClient, which verifies the chain against the cluster CA and the host it
 * dialled against the certificate's subject alternative names.
 */
class ServeTlsTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path tmp;
    private static Path model;

    @BeforeAll
    static void randomModel() throws Exception {
        model = DecodeBenchmark.randomModel(BenchDecodeCommand.shape("small"), 7);
    }

    @AfterAll
    static void delete() throws Exception {
        DecodeBenchmark.delete(model);
    }

    private static OpenAiServer serve(Path secrets) throws Exception {
        SSLContext https = ClusterTls.load(secrets, ClusterTls.Role.COORDINATOR).context();
        OpenAiServer server = OpenAiServer.bind("127.0.0.1", 0, ServeLimits.defaults(), null,
                MonitorSettings.defaults().withDrift(false), line -> { }, https);
        server.load(model, 1, 2, 1L << 30, line -> { });
        return server;
    }

    /** A client that trusts only the cluster's CA (its trust store), as a user's would after copying ca.crt. */
    private static HttpClient trustingTheCluster(Path secrets) throws Exception {
        char[] password = Files.readString(secrets.resolve(ClusterTls.PASSWORD)).strip().toCharArray();
        KeyStore trust = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(secrets.resolve(ClusterTls.TRUST_STORE))) {
            trust.load(in, password);
        }
        TrustManagerFactory factory = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        factory.init(trust);
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(null, factory.getTrustManagers(), null);
        return HttpClient.newBuilder().sslContext(context).connectTimeout(Duration.ofSeconds(10)).build();
    }

    private static HttpResponse<String> complete(HttpClient client, String base) throws Exception {
        return client.send(HttpRequest.newBuilder(URI.create(base + "/v1/completions")).timeout(Duration.ofSeconds(60))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"prompt\": \"\u0100\", \"max_tokens\": 3, \"seed\": 1}")).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void anHttpsClientTrustingTheClusterCaGetsCompletionsByHostNameAndByAddress() throws Exception {
        Path secrets = tmp.resolve("default-names");
        troupe("secret", "init", secrets).assertOk();
        try (OpenAiServer server = serve(secrets)) {
            HttpClient client = trustingTheCluster(secrets);
            for (String host : List.of("localhost", "127.0.0.1")) {
                HttpResponse<String> answer = complete(client, "https://" + host + ":" + server.port());
                assertEquals(200, answer.statusCode(), answer.body());
                JsonNode body = JSON.readTree(answer.body());
                assertEquals(3, body.at("/usage/completion_tokens").asInt(), answer.body());
                assertEquals("TLSv1.3", answer.sslSession().orElseThrow().getProtocol());
            }
            // Plain HTTP to the HTTPS port gets no answer, and a client that does not trust the CA refuses the server.
            assertThrows(IOException.class, () -> complete(HttpClient.newHttpClient(), "http://127.0.0.1:" + server.port()));
            assertThrows(SSLHandshakeException.class, () -> complete(HttpClient.newHttpClient(),
                    "https://localhost:" + server.port()));
        }
    }

    @Test
    void aCertificateThatDoesNotNameTheHostIsRefusedByTheClient() throws Exception {
        Path secrets = tmp.resolve("other-name");
        troupe("secret", "init", secrets, "--san", "serve.example.org,10.1.2.3").assertOk();
        X509Certificate leaf = leaf(secrets);
        assertEquals(List.of(List.of(2, "serve.example.org"), List.of(7, "10.1.2.3")),
                leaf.getSubjectAlternativeNames().stream().map(List::copyOf).toList());
        try (OpenAiServer server = serve(secrets)) {
            HttpClient client = trustingTheCluster(secrets);
            // The chain is trusted, but neither localhost nor 127.0.0.1 is a name the certificate holds.
            SSLHandshakeException refused = assertThrows(SSLHandshakeException.class,
                    () -> complete(client, "https://localhost:" + server.port()));
            assertTrue(String.valueOf(refused.getMessage()).toLowerCase(java.util.Locale.ROOT).contains("localhost"),
                    refused.getMessage());
            assertThrows(SSLHandshakeException.class, () -> complete(client, "https://127.0.0.1:" + server.port()));
        }
    }

    @Test
    void secretInitRefusesANameThatIsNeitherAHostNorAnAddress() {
        Path secrets = tmp.resolve("bad-name");
        troupe("secret", "init", secrets, "--san", "not a host!").assertExit(TroupeCli.EXIT_USAGE)
                .assertOneLineError("--san: 'not a host!' is neither a host name");
        assertTrue(ClusterSecrets.existing(secrets).isEmpty(), "nothing written");
    }

    @Test
    void serveGivenADirectoryWithoutAnIdentityIsToldWhatIsMissing() {
        troupe("serve", "--model", model, "--tls", tmp.resolve("no-identity")).assertExit(TroupeCli.EXIT_FAILURE)
                .assertOneLineError("does not exist; --tls takes the directory 'troupe secret init DIR' wrote");
    }

    private static X509Certificate leaf(Path secrets) throws Exception {
        char[] password = Files.readString(secrets.resolve(ClusterTls.PASSWORD)).strip().toCharArray();
        KeyStore keys = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(secrets.resolve(ClusterTls.COORDINATOR_KEY_STORE))) {
            keys.load(in, password);
        }
        return (X509Certificate) keys.getCertificate(keys.aliases().nextElement());
    }
}
