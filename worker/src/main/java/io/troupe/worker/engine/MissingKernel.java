package io.troupe.worker.engine;

import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Recognises ONNX Runtime's "no kernel for this op and these types on this device" error at
 * session creation, so it can be reported naming the op: the usual cause is {@code --precision
 * fp16} on a device without a float16 kernel for one of the graph's ops.
 *
 * <p>ORT's CPU provider never raises it for float16 (its session inserts Casts to float32 around
 * ops it has no float16 kernel for, which is one reason fp16 is slower there); a GPU provider
 * would, when CPU fallback is off. ORT spells it "Could not find an implementation for
 * Op(opset) node with name 'n'" or "Failed to find kernel for Op".
 */
final class MissingKernel {
    private static final Pattern IMPLEMENTATION =
            Pattern.compile("Could not find an implementation for (\\w+)\\((\\d+)\\) node with name '([^']*)'");
    private static final Pattern KERNEL = Pattern.compile("Failed to find kernel for (\\w+)");

    private MissingKernel() {
    }

    /**
     * The one-line explanation of ORT's message, or empty if it is not a missing kernel.
     *
     * @param device where the session was to run, e.g. "cpu" or "cuda:0"
     */
    static Optional<String> explain(String ortMessage, String device) {
        if (ortMessage == null) {
            return Optional.empty();
        }
        Matcher m = IMPLEMENTATION.matcher(ortMessage);
        String op;
        String node = "";
        if (m.find()) {
            op = m.group(1) + " (opset " + m.group(2) + ")";
            node = m.group(3).isEmpty() ? "" : ", node '" + m.group(3) + "'";
        } else {
            Matcher k = KERNEL.matcher(ortMessage);
            if (!k.find()) {
                return Optional.empty();
            }
            op = k.group(1);
        }
        return Optional.of("ONNX Runtime has no kernel on " + device + " for op " + op + node
                + " with the graph's element types; with --precision fp16 this op has no float16 kernel there:"
                + " use --precision fp32, or another device");
    }
}
