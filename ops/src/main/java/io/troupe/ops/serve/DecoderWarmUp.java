package io.troupe.ops.serve;

import io.troupe.ops.inference.BatchDecoder;
import java.util.List;

/**
 * Runs a freshly opened decoder once before the server answers with it: a one-token prompt and
 * one decoding step. ONNX Runtime plans and allocates on a session's first runs; done here, that
 * cost is part of start-up (where the progress shows it) instead of the first client's wait.
 */
final class DecoderWarmUp {
    private DecoderWarmUp() {
    }

    /** Opens a one-token sequence, decodes one more token and releases it; the decoder is as before. */
    static void run(BatchDecoder decoder) throws Exception {
        BatchDecoder.Opened opened = decoder.open(new int[] {0}); // token 0 exists in every vocabulary
        try {
            decoder.step(List.of(opened.slot()), new int[] {0});
        } finally {
            decoder.release(opened.slot());
        }
    }
}
