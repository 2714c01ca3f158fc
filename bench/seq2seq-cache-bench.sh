#!/usr/bin/env bash
# Issue 21's goal "decoding with the cache is >= 5x faster per token than without, at 40 target
# tokens": `troupe bench translate` (KV-cached Seq2SeqDecoder against the uncached full-prefix
# GreedyTranslator, both decoding exactly TOKENS tokens of one sentence, one thread) on a 3+3-layer,
# C=256, max-length-64 model, ROUNDS times. With BASE_JAR (an earlier build) each round runs it
# too, alternately (ABAB), so that before and after meet the same load. Prints one JSON line per
# run (with the time and load average) and the median of each column over the rounds.
#
#   bench/seq2seq-cache-bench.sh [MODEL_DIR]      (about 1 minute with BASE_JAR, 30 s without)
#
# MODEL_DIR: a train-seq2seq model of that shape. Without it, a one-step model is trained from
# the prepared dataset DATA (default /tmp/lead/fra8k, from `troupe prepare --pairs`); the time per
# token does not depend on the weights. Env: ROUNDS (3), REPEAT (15), TOKENS (40), BASE_JAR
# (default /tmp/s2s7/base.jar when it exists; BASE_JAR= to skip). Uses ops/target/troupe.jar
# (./mvnw -B -o -q -pl ops -am package -DskipTests).
set -euo pipefail
cd "$(dirname "$0")/.."
JAR=ops/target/troupe.jar
[ -f "$JAR" ] || { echo "no $JAR: build it first (./mvnw -B -o -q -pl ops -am package -DskipTests)" >&2; exit 2; }
ROUNDS=${ROUNDS:-3}
REPEAT=${REPEAT:-15}
TOKENS=${TOKENS:-40}
if [ -z "${BASE_JAR+x}" ] && [ -f /tmp/s2s7/base.jar ]; then BASE_JAR=/tmp/s2s7/base.jar; fi
BASE_JAR=${BASE_JAR:-}
WORK=$(mktemp -d /tmp/seq2seq-cache-bench.XXXXXX)
cp "$JAR" "$WORK/new.jar"
MODEL=${1:-}
if [ -z "$MODEL" ]; then
  DATA=${DATA:-/tmp/lead/fra8k}
  [ -f "$DATA/manifest.json" ] || { echo "no model given and no prepared dataset at $DATA: pass MODEL_DIR or set DATA" >&2; exit 2; }
  MODEL=$WORK/model
  java -jar "$WORK/new.jar" train-seq2seq --data "$DATA" --out "$MODEL" --encoder-layers 3 --decoder-layers 3 \
    --n-embd 256 --n-head 4 --max-len 64 --steps 1 --eval-interval 1 --val-batches 1 --threads 1 >/dev/null
fi
[ -f "$MODEL/seq2seq.json" ] || { echo "$MODEL is not a seq2seq model directory (no seq2seq.json)" >&2; exit 2; }
echo "model $MODEL, $TOKENS tokens, $REPEAT timed runs per bench, $ROUNDS rounds; base ${BASE_JAR:-none}; logs in $WORK"
run() { # LABEL JAR
  local out
  out=$(java -jar "$2" bench translate --model "$MODEL" --tokens "$TOKENS" --repeat "$REPEAT" --threads 1 --json)
  echo "{\"run\":\"$1\",\"time\":\"$(date -u +%H:%M:%S)\",\"load\":$(cut -d' ' -f1 /proc/loadavg),\"bench\":$out}" | tee -a "$WORK/runs.jsonl"
}
for r in $(seq 1 "$ROUNDS"); do
  [ -n "$BASE_JAR" ] && run base "$BASE_JAR"
  run new "$WORK/new.jar"
done
python3 - "$WORK/runs.jsonl" <<'PY'
import json, statistics, sys
runs = [json.loads(line) for line in open(sys.argv[1])]
keys = ["cached_ms_per_token", "uncached_ms_per_token", "speedup", "cached_cpu_ms_per_token",
        "uncached_cpu_ms_per_token", "cpu_speedup", "cached_thread_cpu_ms_per_token",
        "uncached_thread_cpu_ms_per_token", "thread_cpu_speedup"]
for label in ("base", "new"):
    rows = [r["bench"] for r in runs if r["run"] == label]
    if not rows:
        continue
    parts = [f"{k} {statistics.median(r[k] for r in rows):.2f}" for k in keys if all(k in r for r in rows)]
    same = all(r["same_tokens"] for r in rows)
    print(f"{label} (median of {len(rows)} rounds): " + ", ".join(parts) + f"; same tokens: {same}")
PY
rm -rf "$WORK/new.jar" "$WORK/model"   # keep only the logs
