#!/usr/bin/env bash
# The issue-14 serving goals in one go, for a quiet machine (2 threads, as measured so far):
#   1. continuous batching on the exported small model: 16 streaming clients vs 1, K rounds
#      interleaved (1, 16, 1, 16, ...), median speed-up (goal >= 4x);
#   2. the same on the GPT-2 124M shape with random weights (16 KV caches need --kv-cache-mib 1200);
#   3. single-stream KV-cache decode beside a minimal PyTorch KV-cache loop, interleaved
#      (bench/kv-decode-vs-pytorch.sh), on the small and the GPT-2 shape at a context of 256.
# Every section prints the load average before it. Run from anywhere:
#   bench/serve-goals.sh [SMALL_MODEL_DIR] [ROUNDS]
# SMALL_MODEL_DIR defaults to /tmp/serve-goals/small: shakespeare-char-small trained 40 steps on
# tinyshakespeare and exported with 'troupe export' (the weights do not matter for speed). When the
# directory does not exist the script makes it first (about 1 minute; DATA, default
# ../shared/data/tinyshakespeare/input.txt from the repository, is the corpus).
# Takes about 10 minutes on a quiet 2-core machine with ROUNDS=5 (section 1 ~1 min, section 2
# ~5 min, section 3 ~4 min); much longer under load. Section 1 warms the server up for 5 s
# (--warmup-seconds, unmeasured) before its rounds, so the rounds time a warm server.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
jar="${TROUPE_JAR:-$root/ops/target/troupe.jar}"
small=${1:-/tmp/serve-goals/small}
rounds=${2:-5}
[[ -f "$jar" ]] || (cd "$root" && ./mvnw -q -B -o -pl ops -am package -DskipTests)
if [[ ! -f "$small/decoder.onnx" ]]; then
  data=${DATA:-$root/../shared/data/tinyshakespeare/input.txt}
  [[ -f "$data" || -n "${DATA:-}" ]] || data=$root/../../shared/data/tinyshakespeare/input.txt # from a worktree
  [[ -f "$data" ]] || { echo "serve-goals: no model at $small and no corpus at $data; set DATA=PATH/input.txt" >&2; exit 2; }
  run="$(dirname "$small")/run-small"
  echo "## making the small model: 40 steps of shakespeare-char-small into $run, exported to $small"
  java -jar "$jar" train --data "$data" --preset shakespeare-char-small --steps 40 --threads 2 --out "$run" --force \
    2>&1 | tail -1
  java -jar "$jar" export --run "$run" --out "$small" --force 2>&1 | tail -1
fi
model=(--model "$small")

echo "## 1. small model, 16 clients vs 1 (clients in this process), $rounds rounds; load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%H:%M:%S)"
java -jar "$jar" bench serve "${model[@]}" --clients 16 --requests 4 --tokens 64 --threads 2 --rounds "$rounds" \
  --no-monitor 2>&1 | grep -v ' INFO '

echo "## 2. GPT-2 124M shape, 16 clients vs 1, 2 rounds; load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%H:%M:%S)"
java -Xmx5g -jar "$jar" bench serve --config gpt2 --clients 16 --requests 1 --tokens 32 --threads 2 \
  --kv-cache-mib 1200 --rounds 2 --no-monitor 2>&1 | grep -v ' INFO '

echo "## 3. single-stream decode vs PyTorch KV loop; load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%H:%M:%S)"
TROUPE_JAR="$jar" "$root/bench/kv-decode-vs-pytorch.sh" small 64 32 3 2
TROUPE_JAR="$jar" "$root/bench/kv-decode-vs-pytorch.sh" gpt2 256 16 2 2
echo "## done; load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%H:%M:%S)"
