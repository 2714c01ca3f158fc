package io.troupe.ops.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The JVM options the launchers give: {@code ./troupe} and the container image's entrypoint start
 * {@code troupe coordinator} with the coordinator's memory defaults (a heap committed and touched at
 * start, a bounded code cache: its RSS stays flat), no other command gets them, options in
 * TROUPE_JAVA_OPTS come after them (so they win), both launchers agree, deploy/k8s's coordinator
 * gets them through the entrypoint, and a real JVM accepts them. Each launcher runs for real, with
 * a stand-in {@code java} first on the PATH that prints the arguments it was given.
 */
class LauncherJavaOptionsTest {
    /** The repository root (tests run in ops/). */
    private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
    private static final List<String> COORDINATOR_DEFAULTS =
            List.of("-XX:+UseSerialGC", "-Xms128m", "-XX:+AlwaysPreTouch", "-XX:ReservedCodeCacheSize=64m");

    @TempDir
    Path tmp;

    @Test
    void theLauncherGivesTheCoordinatorItsMemoryDefaultsAndOnlyIt() throws Exception {
        List<String> coordinator = launcher(Map.of(), "coordinator", "--bind", "127.0.0.1:2552");
        assertEquals(COORDINATOR_DEFAULTS, jvmOptions(coordinator), "the options before -jar: " + coordinator);
        assertEquals(List.of("coordinator", "--bind", "127.0.0.1:2552"), commandLine(coordinator));

        for (String other : List.of("train", "worker", "serve")) {
            assertEquals(List.of(), jvmOptions(launcher(Map.of(), other, "--help")), other + " gets no coordinator defaults");
        }
    }

    @Test
    void troupeJavaOptsComeAfterTheDefaultsSoTheyWin() throws Exception {
        List<String> args = launcher(Map.of("TROUPE_JAVA_OPTS", "-Xms1g -XX:-AlwaysPreTouch"), "coordinator");
        List<String> expected = new ArrayList<>(COORDINATOR_DEFAULTS);
        expected.addAll(List.of("-Xms1g", "-XX:-AlwaysPreTouch"));
        assertEquals(expected, jvmOptions(args));
        assertEquals(List.of("-Xmx2g"), jvmOptions(launcher(Map.of("TROUPE_JAVA_OPTS", "-Xmx2g"), "worker")));
    }

    @Test
    void theImageEntrypointGivesTheSameDefaultsAndKeepsItsHeapShareForEveryCommand() throws Exception {
        List<String> coordinator = entrypoint(Map.of(), "coordinator");
        List<String> expected = new ArrayList<>(COORDINATOR_DEFAULTS);
        expected.add("-XX:MaxRAMPercentage=50");
        assertEquals(expected, jvmOptions(coordinator), "the options before -cp: " + coordinator);
        assertEquals(List.of("-XX:MaxRAMPercentage=50"), jvmOptions(entrypoint(Map.of(), "worker")));
        assertEquals(List.of("-XX:MaxRAMPercentage=40"),
                jvmOptions(entrypoint(Map.of("TROUPE_JAVA_OPTS", "-XX:MaxRAMPercentage=40"), "worker")));
    }

    @Test
    void theKubernetesCoordinatorGetsTheDefaultsThroughTheEntrypoint() throws Exception {
        JsonNode statefulSet = new ObjectMapper(new YAMLFactory())
                .readTree(ROOT.resolve("deploy/k8s/base/coordinator-statefulset.yaml").toFile());
        JsonNode container = statefulSet.path("spec").path("template").path("spec").path("containers").get(0);
        String javaOpts = null;
        for (JsonNode env : container.path("env")) {
            if (env.path("name").asText().equals("TROUPE_JAVA_OPTS")) {
                javaOpts = env.path("value").asText();
            }
        }
        assertEquals("coordinator", container.path("args").get(0).asText());
        Map<String, String> env = javaOpts == null ? Map.of() : Map.of("TROUPE_JAVA_OPTS", javaOpts);
        List<String> options = jvmOptions(entrypoint(env, "coordinator"));
        assertEquals(COORDINATOR_DEFAULTS, options.subList(0, COORDINATOR_DEFAULTS.size()), "the pod's JVM options: " + options);
        for (String option : options.subList(COORDINATOR_DEFAULTS.size(), options.size())) {
            assertFalse(option.startsWith("-Xms") || option.contains("AlwaysPreTouch") || option.contains("ReservedCodeCacheSize")
                            || option.matches("-XX:[+-]Use\\w*GC"),
                    "the manifest's TROUPE_JAVA_OPTS undoes a coordinator default: " + option);
        }
    }

    @Test
    void aRealJvmAcceptsTheDefaults() throws Exception {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(COORDINATOR_DEFAULTS);
        command.add("-version");
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), "java " + COORDINATOR_DEFAULTS + " refused: " + out);
    }

    /** ./troupe, copied with an empty stand-in jar beside it (so it never builds), run with these arguments. */
    private List<String> launcher(Map<String, String> env, String... args) throws Exception {
        Path root = tmp.resolve("repo");
        Files.createDirectories(root.resolve("ops/target"));
        Files.copy(ROOT.resolve("troupe"), root.resolve("troupe"), StandardCopyOption.REPLACE_EXISTING);
        Files.write(root.resolve("ops/target/troupe.jar"), new byte[0]);
        List<String> command = new ArrayList<>(List.of("bash", root.resolve("troupe").toString()));
        command.addAll(List.of(args));
        return run(command, env);
    }

    /** The image's entrypoint script, run with sh and these arguments. */
    private List<String> entrypoint(Map<String, String> env, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of("sh",
                ROOT.resolve("ops/src/main/jib/usr/local/bin/troupe").toString()));
        command.addAll(List.of(args));
        return run(command, env);
    }

    /** The arguments the stand-in java received, one per element. */
    private List<String> run(List<String> command, Map<String, String> env) throws Exception {
        Path bin = tmp.resolve("bin");
        Files.createDirectories(bin);
        Path java = bin.resolve("java");
        Files.writeString(java, "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done\n");
        Files.setPosixFilePermissions(java, PosixFilePermissions.fromString("rwxr-xr-x"));
        ProcessBuilder pb = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD);
        pb.environment().remove("TROUPE_JAVA_OPTS");
        pb.environment().remove("TROUPE_REBUILD");
        pb.environment().put("PATH", bin + ":" + System.getenv("PATH"));
        pb.environment().putAll(env);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), String.join(" ", command) + " failed: " + out);
        return out.isEmpty() ? List.of() : List.of(out.split("\n"));
    }

    /** The JVM options: everything before -jar (./troupe) or -cp (the image). */
    private static List<String> jvmOptions(List<String> args) {
        int end = 0;
        while (end < args.size() && !args.get(end).equals("-jar") && !args.get(end).equals("-cp")) {
            end++;
        }
        return args.subList(0, end);
    }

    /** The troupe command line: what follows -jar JAR. */
    private static List<String> commandLine(List<String> args) throws IOException {
        int jar = args.indexOf("-jar");
        return args.subList(jar + 2, args.size());
    }
}
