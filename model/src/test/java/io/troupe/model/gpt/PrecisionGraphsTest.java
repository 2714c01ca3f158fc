package io.troupe.model.gpt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.troupe.model.graph.DType;
import io.troupe.model.graph.Half;
import io.troupe.model.graph.Node;
import io.troupe.model.graph.Tensor;
import org.junit.jupiter.api.Test;

/** The precision setting's graphs: fp32 is the graph of before, fp16 computes in float16. */
class PrecisionGraphsTest {
    private static final GptConfig CFG = new GptConfig(13, 8, 2, 2, 16, 0.1, true, true);

    @Test
    void fp32IsByteForByteTheGraphBuiltWithoutThePrecisionSetting() {
        byte[] before = GptGraphs.training(CFG, 4, 8, DType.FLOAT, 5, null, null, null,
                ActivationCheckpointing.NONE).toBytes();
        byte[] fp32 = GptGraphs.training(CFG, 4, 8, DType.FLOAT, 5, null, null, null,
                ActivationCheckpointing.NONE, Precision.FP32).toBytes();
        assertArrayEquals(before, fp32);
        assertArrayEquals(GptGraphs.evaluation(CFG, 4, 8, DType.FLOAT, null, null, null).toBytes(),
                GptGraphs.evaluation(CFG, 4, 8, DType.FLOAT, null, null, null, Precision.FP32).toBytes());
    }

    @Test
    void fp16KeepsFloat32ParametersLossAndGradientsAndTakesTheLossScale() {
        TrainingGraph g = GptGraphs.training(CFG, 4, 8, DType.FLOAT, 5, null, null, null,
                ActivationCheckpointing.NONE, Precision.FP16);
        for (Tensor in : g.graph().inputs()) {
            if (in.name().equals(GptGraphs.LOSS_SCALE)) {
                assertEquals(DType.INT64, in.dtype());
            } else if (!in.name().equals(TrainingGraph.TOKENS) && !in.name().equals(TrainingGraph.TARGETS)) {
                assertEquals(DType.FLOAT, in.dtype(), in.name() + " is a float32 master weight");
            }
        }
        assertTrue(g.graph().inputs().stream().anyMatch(t -> t.name().equals(GptGraphs.LOSS_SCALE)));
        g.graph().outputs().forEach((name, out) -> assertEquals(DType.FLOAT, out.dtype(), name));
        long halfMatMuls = g.graph().nodes().stream().filter(n -> n.opType().equals("MatMul")
                && n.output(0).dtype() == DType.FLOAT16).count();
        long allMatMuls = g.graph().nodes().stream().filter(n -> n.opType().equals("MatMul")).count();
        assertTrue(allMatMuls > 0);
        assertEquals(allMatMuls, halfMatMuls, "every MatMul, forward and backward, runs in float16");
        TrainingGraph eval = GptGraphs.evaluation(CFG, 4, 8, DType.FLOAT, null, null, null, Precision.FP16);
        assertFalse(eval.graph().inputs().stream().anyMatch(t -> t.name().equals(GptGraphs.LOSS_SCALE)),
                "evaluation has no backward pass to scale");
    }

    @Test
    void bf16StorageKeepsFp32InterfaceAndComputeAndStoresEverySavedActivationInBfloat16() {
        TrainingGraph fp32 = GptGraphs.training(CFG, 4, 8, DType.FLOAT, 5, null, null, null,
                ActivationCheckpointing.NONE, Precision.FP32);
        TrainingGraph bf16 = GptGraphs.training(CFG, 4, 8, DType.FLOAT, 5, null, null, null,
                ActivationCheckpointing.NONE, Precision.BF16_STORAGE);
        assertEquals(fp32.graph().inputs().stream().map(t -> t.name() + ":" + t.dtype()).toList(),
                bf16.graph().inputs().stream().map(t -> t.name() + ":" + t.dtype()).toList(), "the same inputs");
        bf16.graph().outputs().forEach((name, out) -> assertEquals(DType.FLOAT, out.dtype(), name));
        assertEquals(fp32.graph().outputs().keySet(), bf16.graph().outputs().keySet());
        // Compute stays float32: every node but the storage ones (scope "bf16") is one of the fp32 graph's.
        assertEquals(fp32.graph().nodes().stream().map(Node::opType).toList(),
                bf16.graph().nodes().stream().filter(n -> !n.name().startsWith("bf16/")).map(Node::opType).toList());
        bf16.graph().nodes().stream().filter(n -> !n.name().startsWith("bf16/"))
                .forEach(n -> n.outputs().forEach(o -> assertTrue(o.dtype() != DType.BFLOAT16 && o.dtype() != DType.FLOAT16,
                        n + " computes in " + o.dtype())));
        // No float32 activation of the forward pass is read by the backward pass: each is read
        // through a Cast from bfloat16. The backward nodes are those named under "grad".
        // Dead nodes (the gradient of a constant, which ORT drops) are not checked.
        java.util.Set<Node> live = new java.util.HashSet<>();
        java.util.ArrayDeque<Node> pending = new java.util.ArrayDeque<>();
        bf16.graph().outputs().values().forEach(o -> pending.add(o.producer()));
        while (!pending.isEmpty()) {
            Node n = pending.pop();
            if (live.add(n)) {
                n.inputs().stream().filter(in -> in != null && in.producer() != null)
                        .forEach(in -> pending.add(in.producer()));
            }
        }
        java.util.Set<Tensor> backwardMade = new java.util.HashSet<>();
        int saved = 0;
        for (Node n : bf16.graph().nodes()) {
            if (n.name().startsWith("grad/") && live.contains(n)) {
                for (Tensor in : n.inputs()) {
                    if (in == null || in.producer() == null || in.dtype() != DType.FLOAT || n.opType().equals("Shape")
                            || backwardMade.contains(in)) {
                        continue;
                    }
                    Node from = in.producer();
                    // Reshape(Cast(Reshape(down))): through the Reshapes to the Cast from bfloat16.
                    while (from.opType().equals("Reshape") && from.name().startsWith("bf16/")) {
                        from = from.input(0).producer();
                    }
                    assertTrue(from.opType().equals("Cast") && from.input(0).dtype() == DType.BFLOAT16,
                            n + " reads the forward's float32 " + in + " of " + from);
                    saved++;
                }
                backwardMade.addAll(n.outputs());
            }
        }
        assertTrue(saved > 20, "the backward pass reads " + saved + " stored activations");
        // The forward pass reads rounded copies too, so the float32 originals die young.
        long down = bf16.graph().nodes().stream().filter(n -> n.opType().equals("Cast")
                && n.output(0).dtype() == DType.BFLOAT16).count();
        assertTrue(down > 10, down + " Casts to bfloat16");
        assertArrayEquals(GptGraphs.evaluation(CFG, 4, 8, DType.FLOAT, null, null, null).toBytes(),
                GptGraphs.evaluation(CFG, 4, 8, DType.FLOAT, null, null, null, Precision.BF16_STORAGE).toBytes(),
                "evaluation keeps nothing for a backward pass: it is fp32's graph");
        assertEquals(Precision.BF16_STORAGE, Precision.parse("bf16-storage"));
        assertEquals(Precision.FP16, Precision.parse("fp16"));
        assertThrows(IllegalArgumentException.class, () -> Precision.parse("fp8"));
    }

    @Test
    void halfConversionRoundsToNearestEven() {
        assertEquals(0x3c00, Half.fromFloat(1f));
        assertEquals((short) 0xbc00, Half.fromFloat(-1f));
        assertEquals(0x7bff, Half.fromFloat(65504f));
        assertEquals(0x7c00, Half.fromFloat(65520f), "rounds up to infinity");
        assertEquals(0x7bff, Half.fromFloat(65519f));
        assertEquals(0x0001, Half.fromFloat(0x1p-24f), "smallest subnormal");
        assertEquals(0, Half.fromFloat(0x1p-26f));
        assertEquals(0x3c00, Half.fromFloat(1f + 0x1p-11f), "a tie rounds to even (down)");
        assertEquals(0x3c02, Half.fromFloat(1f + 3 * 0x1p-11f), "a tie rounds to even (up)");
        for (int bits = 0; bits < 0x7c00; bits++) {
            assertEquals(bits, Half.fromFloat(Half.toFloat((short) bits)), "round trip of " + bits);
        }
        assertTrue(Float.isNaN(Half.toFloat(Half.fromFloat(Float.NaN))));
    }
}
