package io.troupe.ops.cli;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

/** The version this jar was built as; cluster nodes refuse peers of another version. */
final class TroupeVersion {
    private TroupeVersion() {
    }

    static String current() {
        Properties build = new Properties();
        try (InputStream in = TroupeVersion.class.getResourceAsStream("version.properties")) {
            if (in != null) {
                build.load(in);
            }
        } catch (IOException e) {
            return "unknown";
        }
        return build.getProperty("troupe.version", "unknown");
    }
}
