package io.troupe.worker.engine;

import static io.troupe.worker.engine.Graphs.FLOAT;
import static io.troupe.worker.engine.Graphs.INT64;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtProvider;
import java.io.File;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class StepEngineTest {

    private static final EngineOptions CPU = EngineOptions.cpu(1);

    /**
     * loss = sum(w * x) + sum(b * b), with x an int64 batch input cast to float;
     * grad.w = x and grad.b = 2b.
     */
    private static byte[] linearModel() {
        return new Graphs()
                .input("w", FLOAT, 2, 3).input("b", FLOAT, 3).input("x", INT64, 2, 3)
                .output("loss", FLOAT).output("grad.w", FLOAT, 2, 3).output("grad.b", FLOAT, 3)
                .toFloat("xf", "x")
                .node("Mul", "wx", "w", "xf").sumAll("s1", "wx")
                .node("Mul", "bb", "b", "b").sumAll("s2", "bb")
                .node("Add", "loss", "s1", "s2")
                .node("Identity", "grad.w", "xf")
                .node("Add", "grad.b", "b", "b")
                .bytes();
    }

    /** The same loss as {@link #linearModel()} without gradient outputs: an evaluation graph. */
    private static byte[] linearEvalModel() {
        return new Graphs()
                .input("w", FLOAT, 2, 3).input("b", FLOAT, 3).input("x", INT64, 2, 3)
                .output("loss", FLOAT)
                .toFloat("xf", "x")
                .node("Mul", "wx", "w", "xf").sumAll("s1", "wx")
                .node("Mul", "bb", "b", "b").sumAll("s2", "bb")
                .node("Add", "loss", "s1", "s2")
                .bytes();
    }

    /** b first with a gap after it, so a slicing bug would show up as gradients in the wrong place. */
    private static FlatLayout gappedLayout() {
        return new FlatLayout(List.of(new ParamView("b", 0, new long[] {3}), new ParamView("w", 4, new long[] {2, 3})), 12);
    }

    private static final float[] W = {0.5f, 1f, 1.5f, 2f, 2.5f, 3f};
    private static final float[] B = {1f, -2f, 3f};
    private static final long[] X = {1, 2, 3, 4, 5, 6};
    // 0.5 * (1 + 4 + 9 + 16 + 25 + 36) + (1 + 4 + 9): every term is exact in float.
    private static final float LOSS = 59.5f;

    @Test
    void lossAndGradientsLandInTheFlatBuffers() throws EngineException {
        try (StepEngine engine = StepEngine.create(linearModel(), gappedLayout(), CPU)) {
            assertTrue(engine.computesGradients());
            engine.parameter("w").put(W);
            engine.parameter("b").put(B);
            engine.feed("x", X);

            assertEquals(LOSS, engine.step());

            float[] flat = new float[12];
            engine.gradients().get(flat);
            // b's gradient 2b at [0, 3), the gap at 3 untouched, w's gradient x at [4, 10), the tail untouched.
            assertArrayEquals(new float[] {2f, -4f, 6f, 0f, 1f, 2f, 3f, 4f, 5f, 6f, 0f, 0f}, flat);
        }
    }

    @Test
    void eachStepReadsTheCurrentBuffersAndOverwritesTheGradients() throws EngineException {
        try (StepEngine engine = StepEngine.create(linearModel(), FlatLayout.packer().add("w", 2, 3).add("b", 3).build(), CPU)) {
            engine.parameter("w").put(W);
            engine.parameter("b").put(B);
            engine.feed("x", X);
            assertEquals(LOSS, engine.step());

            // Change the parameters and the batch in place, through the views the engine hands out.
            FloatBuffer w = engine.parameter("w");
            for (int i = 0; i < 6; i++) {
                w.put(i, 1f);
            }
            engine.parameter("b").put(0, 0f).put(1, 0f).put(2, 0.5f);
            LongBuffer x = engine.batch("x");
            for (int i = 0; i < 6; i++) {
                x.put(i, -1);
            }

            assertEquals(-6f + 0.25f, engine.step());
            float[] gradW = new float[6];
            engine.gradient("w").get(gradW);
            assertArrayEquals(new float[] {-1f, -1f, -1f, -1f, -1f, -1f}, gradW);
            float[] gradB = new float[3];
            engine.gradient("b").get(gradB);
            assertArrayEquals(new float[] {0f, 0f, 1f}, gradB);
        }
    }

    /**
     * A gradient that does not depend on any input (here the constant 1 of d sum(c) / dc) becomes an
     * initializer once ORT folds constants. ORT must still copy it into the pinned gradient buffer.
     */
    @ParameterizedTest
    @EnumSource(GraphOptimization.class)
    void constantGradientsAreWrittenToo(GraphOptimization optimization) throws EngineException {
        byte[] model = new Graphs()
                .input("c", FLOAT, 2).input("x", INT64, 1)
                .output("loss", FLOAT).output("grad.c", FLOAT, 2)
                .sumAll("loss", "c")
                .constant("grad.c", 1f, 2)
                .bytes();
        FlatLayout layout = FlatLayout.packer().add("c", 2).build();
        try (StepEngine engine = StepEngine.create(model, layout, CPU.withOptimization(optimization))) {
            engine.parameters().put(new float[] {3f, 4f});
            assertEquals(7f, engine.step());
            float[] grad = new float[2];
            engine.gradients().get(grad);
            assertArrayEquals(new float[] {1f, 1f}, grad);
        }
    }

    @Test
    void evaluationGraphsReturnOnlyTheLoss() throws EngineException {
        try (StepEngine engine = StepEngine.create(linearEvalModel(), gappedLayout(), CPU)) {
            assertFalse(engine.computesGradients());
            engine.parameter("w").put(W);
            engine.parameter("b").put(B);
            engine.feed("x", X);
            assertEquals(LOSS, engine.step());
            IllegalStateException noGrads = assertThrows(IllegalStateException.class, engine::gradients);
            assertTrue(noGrads.getMessage().contains("evaluation graph"), noGrads.getMessage());
        }
    }

    @Test
    void symbolicBatchDimensionsAreFixedAtCreation() throws EngineException {
        byte[] model = new Graphs()
                .input("w", FLOAT, 1).symbolicInput("idx", INT64, "B", "T")
                .output("loss", FLOAT).output("grad.w", FLOAT, 1)
                .toFloat("f", "idx").sumAll("s", "f")
                .node("Mul", "sw", "s", "w").sumAll("loss", "sw")
                .int64Initializer("shape1", 1).node("Reshape", "grad.w", "s", "shape1")
                .bytes();
        FlatLayout layout = FlatLayout.packer().add("w", 1).build();

        EngineException missing = assertThrows(EngineException.class, () -> StepEngine.create(model, layout, CPU));
        assertTrue(missing.getMessage().contains("'idx'") && missing.getMessage().contains("[B, T]"), missing.getMessage());

        try (StepEngine engine = StepEngine.create(model, layout, CPU, Map.of("idx", new long[] {2, 3}))) {
            assertArrayEquals(new long[] {2, 3}, engine.batchShapes().get("idx"));
            engine.parameters().put(0, 2f);
            engine.feed("idx", 1, 2, 3, 4, 5, 6);
            assertEquals(42f, engine.step());
            assertEquals(21f, engine.gradients().get(0));
        }
    }

    @Test
    void graphsThatBreakTheContractAreRejectedWithTheReason() {
        FlatLayout layout = FlatLayout.packer().add("w", 2, 3).add("b", 3).build();

        FlatLayout unknownParam = FlatLayout.packer().add("w", 2, 3).add("b", 3).add("wte", 4).build();
        assertRejected(linearModel(), unknownParam, "no 'wte'");

        FlatLayout wrongShape = FlatLayout.packer().add("w", 3, 2).add("b", 3).build();
        assertRejected(linearModel(), wrongShape, "input 'w' must be FLOAT[3, 2]");

        byte[] floatBatch = new Graphs()
                .input("w", FLOAT, 2, 3).input("b", FLOAT, 3).input("x", FLOAT, 2, 3)
                .output("loss", FLOAT)
                .node("Mul", "wx", "w", "x").sumAll("loss", "wx")
                .bytes();
        assertRejected(floatBatch, layout, "'x' is not a parameter in the layout, so it must be an int64 batch input");

        byte[] partialGradients = new Graphs()
                .input("w", FLOAT, 2, 3).input("b", FLOAT, 3)
                .output("loss", FLOAT).output("grad.w", FLOAT, 2, 3)
                .sumAll("loss", "w").node("Identity", "grad.w", "w")
                .bytes();
        assertRejected(partialGradients, layout, "not for [grad.b]");

        byte[] noLoss = new Graphs()
                .input("w", FLOAT, 2, 3).input("b", FLOAT, 3)
                .output("total", FLOAT)
                .sumAll("total", "w")
                .bytes();
        assertRejected(noLoss, layout, "no 'loss'");

        assertRejected(new byte[] {1, 2, 3}, layout, "could not load the model");
    }

    @Test
    void batchInputsCheckNamesAndLengths() throws EngineException {
        try (StepEngine engine = StepEngine.create(linearModel(), gappedLayout(), CPU)) {
            assertThrows(IllegalArgumentException.class, () -> engine.batch("idx"));
            IllegalArgumentException tooShort = assertThrows(IllegalArgumentException.class, () -> engine.feed("x", 1, 2));
            assertTrue(tooShort.getMessage().contains("takes 6 values, got 2"), tooShort.getMessage());
        }
        EngineException unknown = assertThrows(EngineException.class,
                () -> StepEngine.create(linearModel(), gappedLayout(), CPU, Map.of("idx", new long[] {2, 3})));
        assertTrue(unknown.getMessage().contains("'idx', which is not a batch input"), unknown.getMessage());
    }

    @Test
    void failuresInsideOnnxRuntimeSurfaceAsEngineExceptions() throws EngineException {
        // Gather with an index outside the table: ORT refuses at run time.
        byte[] model = new Graphs()
                .input("table", FLOAT, 4).input("idx", INT64, 2)
                .output("loss", FLOAT)
                .node("Gather", "rows", "table", "idx").sumAll("loss", "rows")
                .bytes();
        try (StepEngine engine = StepEngine.create(model, FlatLayout.packer().add("table", 4).build(), CPU)) {
            engine.feed("idx", 0, 3);
            engine.step();
            engine.feed("idx", 0, 99);
            EngineException failure = assertThrows(EngineException.class, engine::step);
            assertTrue(failure.getMessage().startsWith("the step graph failed"), failure.getMessage());
        }
    }

    @Test
    void profilingWritesAChromeTraceOfTheSteps(@TempDir Path dir) throws EngineException, IOException {
        EngineOptions profiled = CPU.withProfiling(dir.resolve("step"));
        Path trace;
        try (StepEngine engine = StepEngine.create(linearModel(), gappedLayout(), profiled)) {
            engine.feed("x", X);
            engine.step();
            trace = engine.endProfiling();
        }
        assertTrue(trace.toAbsolutePath().startsWith(dir), trace + " should be under " + dir);
        String json = Files.readString(trace);
        assertTrue(json.startsWith("["), "a Chrome trace is a JSON array");
        // One event per kernel run, named after the node: Graphs names the Cast node cast_0.
        assertTrue(json.contains("cast_0_kernel_time"), json);

        try (StepEngine unprofiled = StepEngine.create(linearModel(), gappedLayout(), CPU)) {
            assertThrows(IllegalStateException.class, unprofiled::endProfiling);
        }
    }

    @Test
    void closedEnginesRefuseEveryCall() throws EngineException {
        StepEngine engine = StepEngine.create(linearModel(), gappedLayout(), CPU);
        FloatBuffer handedOut = engine.parameters();
        engine.close();
        engine.close(); // idempotent

        assertThrows(IllegalStateException.class, engine::step);
        assertThrows(IllegalStateException.class, engine::parameters);
        assertThrows(IllegalStateException.class, engine::gradients);
        assertThrows(IllegalStateException.class, () -> engine.parameter("w"));
        assertThrows(IllegalStateException.class, () -> engine.batch("x"));
        assertThrows(IllegalStateException.class, () -> engine.feed("x", X));
        assertThrows(IllegalStateException.class, engine::layout);
        assertThrows(IllegalStateException.class, engine::endProfiling);
        // Views handed out earlier are still ordinary Java memory: the JVM frees them, not close().
        handedOut.put(0, 1f);
        assertEquals(1f, handedOut.get(0));
    }

    @Test
    void cudaWithoutTheGpuBuildNamesTheFix() {
        assumeFalse(OrtEnvironment.getAvailableProviders().contains(OrtProvider.CUDA),
                "this ONNX Runtime has the CUDA provider; the missing-provider path cannot happen");
        EngineOptions cuda = CPU.withDevice(Device.parse("cuda:0"));
        EngineException missing = assertThrows(EngineException.class,
                () -> StepEngine.create(linearModel(), gappedLayout(), cuda));
        assertEquals("device cuda:0 needs ONNX Runtime's CUDA execution provider, but this build bundles the "
                + "CPU-only ONNX Runtime. Build Troupe with './mvnw -Pcuda -DskipTests install' on a machine with "
                + "CUDA 12 and cuDNN 9.", missing.getMessage());
    }

    /**
     * ORT's intra-op pool has threads - 1 native threads (the calling thread is the last worker), so
     * the process gains exactly that many while an engine is open. Linux-only: counted in /proc.
     */
    @Test
    void intraOpThreadsSizeOnnxRuntimesThreadPool() throws EngineException {
        File tasks = new File("/proc/self/task");
        assumeTrue(tasks.isDirectory(), "needs Linux /proc to count native threads");
        StepEngine.create(linearModel(), gappedLayout(), CPU).close(); // loads ORT and its environment first
        for (int threads : new int[] {1, 3}) {
            // The JVM may start a GC or compiler thread meanwhile; retry until the count is steady.
            int added = -1;
            for (int attempt = 0; attempt < 5 && added < 0; attempt++) {
                int before = tasks.list().length;
                StepEngine engine = StepEngine.create(linearModel(), gappedLayout(), EngineOptions.cpu(threads));
                int during = tasks.list().length;
                engine.close();
                if (tasks.list().length == before) {
                    added = during - before;
                }
            }
            assertEquals(threads - 1, added, "native threads added by an engine with " + threads + " intra-op threads");
        }
    }

    private static void assertRejected(byte[] model, FlatLayout layout, String reason) {
        EngineException rejected = assertThrows(EngineException.class, () -> StepEngine.create(model, layout, CPU));
        assertTrue(rejected.getMessage().contains(reason), "expected '" + reason + "' in: " + rejected.getMessage());
    }
}
