#!/usr/bin/env bash
# Issue 18's memory goal on a quiet machine: the shakespeare-char preset (L6 H6 C384 T256 B64)
# at <= 3 GiB peak RSS with steps no more than 10% slower than before. Runs, in alternating
# pairs, `troupe train --preset shakespeare-char` for STEPS steps
#   before: ort_arena=true, one micro-batch of 64 rows (the preset as it was)
#   after:  the preset today (ort_arena=false) with grad_accum=2 (two micro-batches of 32)
# and prints per run the peak RSS (/usr/bin/time -v) and the mean step time after the first
# step (metrics.jsonl's elapsed_s; the first step holds the graph build and first allocations).
#
#   [JAR=ops/target/troupe.jar] [THREADS=2] [AFTER="grad_accum=2"] bench/memory-preset-pair.sh [PAIRS=2] [STEPS=6]
#
# AFTER: the settings of the "after" run on top of today's preset (e.g. AFTER="grad_accum=4").
set -euo pipefail
cd "$(dirname "$0")/.."
PAIRS=${1:-2}
STEPS=${2:-6}
THREADS=${THREADS:-2}
AFTER=${AFTER:-grad_accum=2}
JAR=${JAR:-ops/target/troupe.jar}
[ -f "$JAR" ] || ./mvnw -q -B -o -pl ops -am package -DskipTests
DATA=$(cd ../shared/data/tinyshakespeare && pwd)/input.txt
WORK=$(mktemp -d /tmp/troupe-memory.XXXXXX)
echo "# $(date -u +%FT%TZ) load: $(cut -d' ' -f1-3 /proc/loadavg)  jar: $JAR  threads: $THREADS  work dir: $WORK"
printf 'pair\trun\tpeak_rss_mib\tms_per_step_after_first\tfinal_train_loss\n'

run() { # run PAIR NAME SETTINGS...
  local out="$WORK/$2-$1"
  /usr/bin/time -v -o "$out.time" java -jar "$JAR" train --data "$DATA" --preset shakespeare-char --out "$out" \
    --force --steps "$STEPS" --threads "$THREADS" eval_interval=100000 eval_iters=1 log_interval=1 "${@:3}" \
    > "$out.log" 2>&1
  python3 - "$1" "$2" "$out.time" "$out/metrics.jsonl" <<'PY'
import json, re, sys
rss_kib = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", open(sys.argv[3]).read()).group(1))
lines = [json.loads(l) for l in open(sys.argv[4]) if l.strip()]
steps = [l for l in lines if l.get("step", 0) >= 1 and "train_loss" in l and "elapsed_s" in l]
first, last = steps[0], steps[-1]
ms = 1000 * (last["elapsed_s"] - first["elapsed_s"]) / (last["step"] - first["step"])
print(f"{sys.argv[1]}\t{sys.argv[2]}\t{rss_kib / 1024:.0f}\t{ms:.0f}\t{last['train_loss']:.4f}")
PY
}

for p in $(seq 1 "$PAIRS"); do
  run "$p" before ort_arena=true
  # shellcheck disable=SC2086
  run "$p" after $AFTER
done
