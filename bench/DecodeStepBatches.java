import io.troupe.ops.inference.BatchDecoder;
import io.troupe.ops.inference.BatchDecoders;
import io.troupe.ops.inference.ExportedModel;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * What one batched KV-cache decode step costs at batch 1, 4 and 16: the ORT part of serving,
 * without HTTP, sampling or scheduling. Each batch opens B one-token prompts and steps them
 * STEPS times (their caches grow from 1 to STEPS + 1 positions), six times; the last three
 * repetitions are printed (the first ones warm ORT and the JIT).
 *
 * <p>Run from the worktree root with the fat jar on the class path (Java's single-file launch):
 * {@code java -cp ops/target/troupe.jar bench/DecodeStepBatches.java MODEL_DIR THREADS [STEPS=62]},
 * MODEL_DIR an export with decoder.onnx (e.g. bench/serve-batching.sh's small model). With
 * threads = 1 every kernel runs on the calling thread, so its CPU time is the step's whole cost.
 */
public class DecodeStepBatches {
    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        int threads = Integer.parseInt(args[1]);
        int steps = args.length > 2 ? Integer.parseInt(args[2]) : 62;
        ThreadMXBean cpu = ManagementFactory.getThreadMXBean();
        try (ExportedModel model = ExportedModel.open(dir, threads);
                BatchDecoder decoder = BatchDecoders.forModel(dir, model, 16, 256L << 20, threads, System.err::println)) {
            for (int rep = 0; rep < 6; rep++) {
                for (int b : new int[] {1, 4, 16}) {
                    List<BatchDecoder.Start> starts = new ArrayList<>();
                    for (int i = 0; i < b; i++) {
                        starts.add(new BatchDecoder.Start(new int[] {0}, steps + 1));
                    }
                    List<BatchDecoder.Slot> slots = new ArrayList<>();
                    for (BatchDecoder.Opened opened : decoder.openAll(starts)) {
                        slots.add(opened.slot());
                    }
                    int[] tokens = new int[b];
                    long wall = System.nanoTime();
                    long thread = cpu.getCurrentThreadCpuTime();
                    for (int s = 0; s < steps; s++) {
                        decoder.step(slots, tokens);
                    }
                    double wallMs = (System.nanoTime() - wall) / 1e6 / steps;
                    double cpuMs = (cpu.getCurrentThreadCpuTime() - thread) / 1e6 / steps;
                    if (rep >= 3) {
                        System.out.printf("B=%2d threads=%d: %.3f ms/step wall, %.3f ms/step calling-thread CPU, %.4f ms/token%n",
                                b, threads, wallMs, cpuMs, wallMs / b);
                    }
                    slots.forEach(decoder::release);
                }
            }
        }
    }
}
