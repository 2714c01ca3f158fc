#!/usr/bin/env bash
# What the live dashboard costs a training run (issue 15 goal: < 1% of step time), in
# alternating paired runs: off, on, off, on, ... (same data, preset, seed and threads); the
# "on" run serves --dashboard and has one SSE client (curl) connected for the whole run.
# For each run it reports the `done:` line's tokens/s and the median tokens/s of the logged
# steps after the first STEADY steps (start-up and JIT left out); for each pair, on vs off; and
# the median over the pairs.
#
# Usage: bench/dashboard-pairs.sh [PAIRS=4] [STEPS=1200] [OUT=/tmp/troupe-dashpairs]
# Env: TROUPE_JAR (default ops/target/troupe.jar), DATA (default ../shared/data/tinyshakespeare/input.txt),
#      THREADS (default 2), SEED (default 1337), STEADY (default 200), PORT (default 18560).
# Takes about PAIRS x 2 x (STEPS / 37 + 10) s on a quiet 2-core machine: ~6 minutes for 4 pairs of 1200 steps.
set -euo pipefail
cd "$(dirname "$0")/.."
PAIRS=${1:-4}
STEPS=${2:-1200}
OUT=${3:-/tmp/troupe-dashpairs}
JAR=${TROUPE_JAR:-ops/target/troupe.jar}
DATA=${DATA:-../shared/data/tinyshakespeare/input.txt}
THREADS=${THREADS:-2}
SEED=${SEED:-1337}
STEADY=${STEADY:-200}
PORT=${PORT:-18560}
mkdir -p "$OUT"
: > "$OUT/runs.txt"; : > "$OUT/pairs.txt"

run() { # $1 = on|off, $2 = pair; prints "done_tokens_per_s steady_median_tokens_per_s"
  local mode=$1 pair=$2 dir="$OUT/run-$1" log="$OUT/$1-$2.log" extra=() pid cpid=
  [ "$mode" = on ] && extra=(--dashboard "127.0.0.1:$PORT")
  java -jar "$JAR" train --data "$DATA" --preset shakespeare-char-small --steps "$STEPS" --seed "$SEED" \
    --threads "$THREADS" --out "$dir" --force "${extra[@]}" > "$log" 2>&1 &
  pid=$!
  if [ "$mode" = on ]; then
    for _ in $(seq 1 300); do curl -s -o /dev/null "http://127.0.0.1:$PORT/" && break; sleep 0.1; done
    curl -s -N "http://127.0.0.1:$PORT/events" > "$OUT/sse-$pair.txt" &
    cpid=$!
  fi
  wait "$pid"
  if [ -n "$cpid" ]; then kill "$cpid" 2>/dev/null || true; fi # curl may have ended with the server
  local done_tps steady
  done_tps=$(grep '^done:' "$log" | grep -o '[0-9,]* tokens/s' | tr -d ', tokens/s')
  steady=$(awk -v from="$STEADY" -F'"tokens_per_s":' '/"step"/ {
      split($1, a, "\"step\":"); split(a[2], b, ","); if (b[1] + 0 > from && !/val_loss/) { split($2, c, /[,}]/); print c[1] } }' \
    "$dir/metrics.jsonl" | sort -g | awk '{v[NR] = $1} END {printf "%.0f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}')
  echo "$pair $mode $done_tps $steady $(cut -d' ' -f1 /proc/loadavg)" >> "$OUT/runs.txt"
  echo "$done_tps $steady"
}

printf "%-5s %12s %12s %9s   %14s %14s %9s\n" pair "off done" "on done" "on/off" "off steady" "on steady" "on/off"
for p in $(seq 1 "$PAIRS"); do
  read -r off_done off_steady < <(run off "$p")
  read -r on_done on_steady < <(run on "$p")
  awk -v p="$p" -v a="$off_done" -v b="$on_done" -v c="$off_steady" -v d="$on_steady" 'BEGIN {
    printf "%-5s %12d %12d %+8.2f%%   %14d %14d %+8.2f%%\n", p, a, b, 100 * (b / a - 1), c, d, 100 * (d / c - 1) }' \
    | tee -a "$OUT/pairs.txt"
done
sort -k4 -g "$OUT/pairs.txt" | awk '{ v[NR] = $4 + 0 } END { printf "median on vs off, done tokens/s: %+.2f%%\n", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
sort -k7 -g "$OUT/pairs.txt" | awk '{ v[NR] = $7 + 0 } END { printf "median on vs off, steady steps:   %+.2f%%\n", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
echo "load average now: $(cut -d' ' -f1-3 /proc/loadavg); runs in $OUT/runs.txt, logs and SSE captures in $OUT"
