package io.troupe.ops.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarFile;
import org.junit.jupiter.api.Test;

/**
 * coordinator.jar and worker.jar, as the build leaves them beside troupe.jar, run their one
 * subcommand with {@code java -jar}.
 */
class SingleCommandJarsIT extends ProcessTest {

    @Test
    void workerJarRunsTroupeWorker() throws Exception {
        Result help = run("worker.jar", "--help");
        assertEquals(0, help.exit, help.output);
        assertTrue(help.output.startsWith("Usage: troupe worker "), help.output);
        assertTrue(help.output.contains("--join=HOST:PORT"), help.output);

        Result missingJoin = run("worker.jar");
        assertEquals(2, missingJoin.exit, missingJoin.output);
        assertTrue(missingJoin.output.contains("--join"), missingJoin.output);
    }

    @Test
    void coordinatorJarRunsTroupeCoordinator() throws Exception {
        Result help = run("coordinator.jar", "--help");
        assertEquals(0, help.exit, help.output);
        assertTrue(help.output.startsWith("Usage: troupe coordinator "), help.output);
        assertTrue(help.output.contains("--workers=N"), help.output);
    }

    @Test
    void theJarsAreThinManifestsOverTroupeJar() throws Exception {
        for (String name : new String[] {"coordinator.jar", "worker.jar"}) {
            try (JarFile jar = new JarFile(jarPath(name).toFile())) {
                assertEquals("troupe.jar", jar.getManifest().getMainAttributes().getValue("Class-Path"), name);
                assertTrue(jar.stream().noneMatch(e -> e.getName().endsWith(".class")), name + " should hold no classes");
            }
        }
    }

    private record Result(int exit, String output) {
    }

    private static Path jarPath(String name) {
        return Path.of(System.getProperty(name.replace(".jar", "") + ".jar"));
    }

    /** Runs {@code java -jar NAME args...} from another directory, so Class-Path resolves beside the jar, not the cwd. */
    private Result run(String name, String... args) throws Exception {
        Path log = dir.resolve(name + ".log");
        java.util.List<String> command = new java.util.ArrayList<>(java.util.List.of("java", "-Xmx256m", "-jar",
                jarPath(name).toAbsolutePath().toString()));
        command.addAll(java.util.List.of(args));
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true)
                .redirectOutput(log.toFile()).start();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError(name + " did not exit within 60 s");
        }
        return new Result(p.exitValue(), Files.readString(log, StandardCharsets.UTF_8));
    }
}
