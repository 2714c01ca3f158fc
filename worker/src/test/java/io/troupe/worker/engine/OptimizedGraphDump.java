package io.troupe.worker.engine;

import ai.onnxruntime.OrtSession;
import io.troupe.model.gpt.ActivationCheckpointing;
import io.troupe.model.gpt.GptConfig;
import io.troupe.model.gpt.GptGraphs;
import io.troupe.model.gpt.Precision;
import io.troupe.model.graph.DType;
import io.troupe.protocol.onnx.ModelProto;
import io.troupe.worker.bench.BenchConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfEnvironmentVariable;

/**
 * Not a test: a tool for bench/ort-live-memory.py. With TROUPE_DUMP_OPTIMIZED=DIR (and optionally
 * TROUPE_DUMP_ROWS, default 4) it writes, for fp32 and bf16-storage, the `bench step --config big`
 * step graph as ORT optimizes it (level ALL) to DIR/nodes-PRECISION.txt, one node a line:
 * name|op|inputs|outputs. Skipped unless the variable is set.
 */
class OptimizedGraphDump {
    @Test
    @EnabledIfEnvironmentVariable(named = "TROUPE_DUMP_OPTIMIZED", matches = ".+")
    void dump() throws Exception {
        Path dir = Path.of(System.getenv("TROUPE_DUMP_OPTIMIZED"));
        int rows = Integer.parseInt(System.getenv().getOrDefault("TROUPE_DUMP_ROWS", "4"));
        GptConfig cfg = BenchConfig.BIG.model();
        for (Precision p : new Precision[] {Precision.FP32, Precision.BF16_STORAGE}) {
            byte[] model = GptGraphs.training(cfg, rows, cfg.blockSize(), DType.FLOAT, 0, null, null, null,
                    ActivationCheckpointing.NONE, p).toBytes();
            Path optimized = dir.resolve("opt-" + p.label() + ".onnx");
            try (OrtSession.SessionOptions so = new OrtSession.SessionOptions()) {
                so.setOptimizationLevel(GraphOptimization.ALL.ortLevel());
                so.setOptimizedModelFilePath(optimized.toString());
                try (OrtSession s = OrtSessions.environment().createSession(model, so)) {
                    List<String> lines = new ArrayList<>();
                    ModelProto.parseFrom(Files.readAllBytes(optimized)).getGraph().getNodeList().forEach(n -> lines.add(
                            n.getName() + "|" + n.getOpType() + "|" + String.join(",", n.getInputList()) + "|"
                                    + String.join(",", n.getOutputList())));
                    Files.write(dir.resolve("nodes-" + p.label() + ".txt"), lines);
                }
            }
        }
    }
}
