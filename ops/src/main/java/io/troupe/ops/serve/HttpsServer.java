package io.troupe.ops.serve;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import org.apache.pekko.http.javadsl.ConnectionContext;
import org.apache.pekko.http.javadsl.HttpsConnectionContext;

/**
 * The HTTPS side of {@code troupe serve --tls}: the server presents the certificate of the
 * context's key (the cluster's coordinator certificate from {@code troupe secret init}) and asks
 * clients for none, since API clients authenticate with their bearer key, not a certificate.
 */
final class HttpsServer {
    /** TLS versions offered: 1.3, and 1.2 for clients that have no 1.3 yet. */
    static final String[] PROTOCOLS = {"TLSv1.3", "TLSv1.2"};

    private HttpsServer() {
    }

    /** A connection context whose engines serve with {@code context}'s key and do not request client certificates. */
    static HttpsConnectionContext context(SSLContext context) {
        return ConnectionContext.httpsServer(() -> {
            SSLEngine engine = context.createSSLEngine();
            engine.setUseClientMode(false);
            SSLParameters parameters = engine.getSSLParameters();
            parameters.setProtocols(PROTOCOLS);
            parameters.setNeedClientAuth(false);
            parameters.setWantClientAuth(false);
            engine.setSSLParameters(parameters);
            return engine;
        });
    }
}
