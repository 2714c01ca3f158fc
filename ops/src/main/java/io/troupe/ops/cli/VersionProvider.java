package io.troupe.ops.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Properties;
import picocli.CommandLine.IVersionProvider;

/**
 * Prints Troupe's version and the ONNX Runtime build it bundles, from {@code version.properties},
 * which Maven fills in at build time. Reading a file keeps {@code --version} from loading ORT's
 * native libraries just to ask for their version.
 */
final class VersionProvider implements IVersionProvider {

    @Override
    public String[] getVersion() {
        Properties build = new Properties();
        try (InputStream in = VersionProvider.class.getResourceAsStream("version.properties")) {
            if (in == null) {
                throw new IllegalStateException("version.properties is missing from the troupe jar");
            }
            build.load(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return new String[] {
            "troupe " + build.getProperty("troupe.version"),
            "ONNX Runtime " + build.getProperty("onnxruntime.version")
                    + " (" + build.getProperty("onnxruntime.artifact") + ")",
            "Java " + Runtime.version() + " (" + System.getProperty("java.vm.name") + ")",
        };
    }
}
