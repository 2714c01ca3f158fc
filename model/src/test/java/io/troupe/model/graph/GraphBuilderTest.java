package io.troupe.model.graph;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.troupe.protocol.onnx.ModelProto;
import io.troupe.protocol.onnx.NodeProto;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class GraphBuilderTest {

    @Test
    void shapesAreInferredThroughSymbolicBatchDimensions() {
        Graph g = new Graph("t");
        Tensor x = g.input("x", DType.FLOAT, Shape.mixed("B", 64, 128));
        Tensor w = g.input("w", DType.FLOAT, Shape.of(128, 384));
        Tensor y = x.matMul(w);
        assertEquals("[B,64,384]", y.shape().toString());
        Tensor heads = y.reshape(0, 0, 12, 32).transpose(0, 2, 1, 3);
        assertEquals("[B,12,64,32]", heads.shape().toString());
        Tensor flat = y.reshape(-1, 384);
        assertEquals("[B*64,384]", flat.shape().toString());
        assertEquals("[B,64,1]", y.reduceSum(true, -1).shape().toString());
        assertEquals("[B,64]", y.reduceMean(false, 2).shape().toString());
        List<Tensor> parts = y.split(2, 128, 128, 128);
        assertEquals(3, parts.size());
        assertEquals("[B,64,128]", parts.get(2).shape().toString());
    }

    @Test
    void invalidNodesNameTheOpWhatItGotAndWhatItExpected() {
        Graph g = new Graph("t");
        Tensor a = g.input("a", DType.FLOAT, Shape.of(2, 3));
        Tensor b = g.input("b", DType.FLOAT, Shape.of(4, 5));
        GraphException e = assertThrows(GraphException.class, () -> a.matMul(b));
        assertTrue(e.getMessage().startsWith("MatMul node 'MatMul': expected inner dimensions to match (3 vs 4)"),
                e.getMessage());
        assertTrue(e.getMessage().contains("'a' float[2,3]") && e.getMessage().contains("'b' float[4,5]"), e.getMessage());

        Tensor i = g.input("i", DType.INT64, Shape.of(2, 3));
        GraphException mixed = assertThrows(GraphException.class, () -> a.add(i));
        assertTrue(mixed.getMessage().contains("expected inputs of one element type"), mixed.getMessage());

        GraphException reshape = assertThrows(GraphException.class, () -> a.reshape(4, 2));
        assertTrue(reshape.getMessage().contains("expected a target shape with 6 elements"), reshape.getMessage());

        GraphException bcast = assertThrows(GraphException.class, () -> a.add(g.input("c", DType.FLOAT, Shape.of(4))));
        assertTrue(bcast.getMessage().contains("shapes that broadcast together"), bcast.getMessage());

        GraphException perm = assertThrows(GraphException.class, () -> a.transpose(0, 0));
        assertTrue(perm.getMessage().contains("perm to be a permutation"), perm.getMessage());

        GraphException unknown = assertThrows(GraphException.class, () -> g.apply("Frobnicate", List.of(a), Map.of()));
        assertTrue(unknown.getMessage().contains("unknown op 'Frobnicate'"), unknown.getMessage());
    }

    @Test
    void namesAreUniqueAndScopedAndClashingInputsAreRefused() {
        Graph g = new Graph("t");
        Tensor x = g.input("x", DType.FLOAT, Shape.of(2));
        Tensor y;
        try (Graph.Scope s = g.scope("h.0")) {
            try (Graph.Scope s2 = g.scope("mlp")) {
                y = x.tanh();
            }
        }
        Tensor z = y.tanh();
        Tensor z2 = z.tanh();
        assertEquals("h.0/mlp/Tanh", y.name());
        assertEquals("Tanh", z.name());
        assertNotEquals(z.name(), z2.name());
        assertThrows(GraphException.class, () -> g.input("x", DType.FLOAT, Shape.of(2)));
    }

    @Test
    void gradientThroughAnOpWithoutARuleNamesTheNode() {
        Graph g = new Graph("t");
        Tensor x = g.input("x", DType.FLOAT, Shape.of(3, 4));
        Tensor padded;
        try (Graph.Scope s = g.scope("block")) {
            padded = g.apply("Pad", List.of(x, g.longs(0, 1, 0, 1)), Map.of());
        }
        Tensor loss = padded.reduceSum(false);
        GraphException e = assertThrows(GraphException.class, () -> Autodiff.gradients(loss, List.of(x)));
        assertTrue(e.getMessage().contains("no gradient rule for Pad node 'block/Pad'"), e.getMessage());
    }

    @Test
    void lossMustBeAFloatingScalar() {
        Graph g = new Graph("t");
        Tensor x = g.input("x", DType.FLOAT, Shape.of(3));
        assertThrows(GraphException.class, () -> Autodiff.gradients(x.tanh(), List.of(x)));
    }

    @Test
    void writesOpset20ModelWithOnlyTheNodesOutputsNeed() {
        Graph g = new Graph("t");
        Tensor x = g.input("x", DType.FLOAT, Shape.mixed("B", 4));
        x.exp(); // dead: no output uses it
        g.output("y", x.tanh());
        ModelProto m = g.toModel();
        assertEquals(20, m.getOpsetImport(0).getVersion());
        assertEquals("", m.getOpsetImport(0).getDomain());
        List<String> ops = m.getGraph().getNodeList().stream().map(NodeProto::getOpType).toList();
        assertEquals(List.of("Tanh", "Identity"), ops);
        assertEquals("B", m.getGraph().getInput(0).getType().getTensorType().getShape().getDim(0).getDimParam());
        assertEquals(4, m.getGraph().getInput(0).getType().getTensorType().getShape().getDim(1).getDimValue());
    }
}
