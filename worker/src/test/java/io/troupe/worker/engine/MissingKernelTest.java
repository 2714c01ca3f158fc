package io.troupe.worker.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * ORT's missing-kernel errors become a one-line error naming the op. The messages are ORT's
 * own spellings (as quoted in onnxruntime issues #19710 and #3735): no float16 case can be
 * produced on this CPU build, whose sessions insert Casts around ops without a float16 kernel.
 */
class MissingKernelTest {

    @Test
    void namesTheOpTheOpsetAndTheNode() {
        String ort = "[ONNXRuntimeError] : 9 : NOT_IMPLEMENTED : Could not find an implementation for"
                + " LayerNormalization(17) node with name 'h.0/ln_1/LayerNormalization_3'";
        String message = MissingKernel.explain(ort, "cuda:0").orElseThrow();
        assertTrue(message.contains("op LayerNormalization (opset 17)"), message);
        assertTrue(message.contains("node 'h.0/ln_1/LayerNormalization_3'"), message);
        assertTrue(message.contains("cuda:0") && message.contains("--precision fp32"), message);
        assertFalse(message.contains("\n"), "one line");
    }

    @Test
    void readsTheOlderSpellingAndIgnoresOtherErrors() {
        assertEquals("ONNX Runtime has no kernel on cpu for op Sub with the graph's element types; with --precision"
                        + " fp16 this op has no float16 kernel there: use --precision fp32, or another device",
                MissingKernel.explain("[ONNXRuntimeError] : 1 : FAIL : Failed to find kernel for Sub", "cpu")
                        .orElseThrow());
        assertTrue(MissingKernel.explain("Protobuf parsing failed", "cpu").isEmpty());
        assertTrue(MissingKernel.explain(null, "cpu").isEmpty());
    }
}
