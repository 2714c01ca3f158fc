#!/usr/bin/env bash
# The issue-14 batching goal alone (16 streaming clients >= 4x one client's tokens/s) on the
# exported small model, for a quiet machine; about 3 minutes there (plus ~1 minute the first time,
# to make the model):
#   [THREADS=T] [WARMUP=S] bench/serve-batching.sh [SMALL_MODEL_DIR] [ROUNDS]
# THREADS is ORT's --threads (default 2; one is faster on this model for one client and for 16),
# WARMUP the warm server's unmeasured seconds of 16-client load (default 5), REQUESTS the streamed
# requests of 64 tokens per client and round (default 16 since 2026-12-08; it was 4, rounds of
# 0.1 s for the lone client, too short to time on a shared machine).
# Prints two runs of ROUNDS interleaved rounds (1, 16, 1, 16, ...), each with the median:
#   A. a warm server (5 s of unmeasured 16-client load first: the number to quote);
#   B. the same without that warm-up (how it was measured until 2026-12-07, where the first
#      rounds also time the JIT compiling the server).
# The clients run in the same JVM (one thread and one keep-alive connection each); their CPU per
# token is printed apart from the server's. Every run prints the load average before it.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
jar="${TROUPE_JAR:-$root/ops/target/troupe.jar}"
small=${1:-/tmp/serve-goals/small}
rounds=${2:-5}
threads=${THREADS:-2}
warmup=${WARMUP:-5}
requests=${REQUESTS:-16}
[[ -f "$jar" ]] || (cd "$root" && ./mvnw -q -B -o -pl ops -am package -DskipTests)
if [[ ! -f "$small/decoder.onnx" ]]; then
  data=${DATA:-$root/../shared/data/tinyshakespeare/input.txt}
  [[ -f "$data" || -n "${DATA:-}" ]] || data=$root/../../shared/data/tinyshakespeare/input.txt # from a worktree
  [[ -f "$data" ]] || { echo "serve-batching: no model at $small and no corpus at $data; set DATA=PATH/input.txt" >&2; exit 2; }
  run="$(dirname "$small")/run-small"
  echo "## making the small model: 40 steps of shakespeare-char-small into $run, exported to $small"
  java -jar "$jar" train --data "$data" --preset shakespeare-char-small --steps 40 --threads 2 --out "$run" --force 2>&1 | tail -1
  java -jar "$jar" export --run "$run" --out "$small" --force 2>&1 | tail -1
fi
for side in "A. warm server (--warmup-seconds $warmup)|$warmup" "B. no warm-up (--warmup-seconds 0)|0"; do
  echo "## ${side%%|*}, $rounds rounds; load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%H:%M:%S)"
  java -jar "$jar" bench serve --model "$small" --clients 16 --requests "$requests" --tokens 64 --threads "$threads" --rounds "$rounds" \
    --warmup-seconds "${side##*|}" 2>&1 | grep -v ' INFO '
done
echo "## done; load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%H:%M:%S)"
