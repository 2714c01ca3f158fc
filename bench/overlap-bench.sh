#!/usr/bin/env bash
# Overlapping the gradient all-reduce with the backward pass (issue 18 item 1): runs
# `troupe train --workers N` with overlap_allreduce=false and =true in alternating pairs
# (off, on, off, on, ...) and prints, per pair, the step time and the exposed all-reduce
# fraction of each (from summary.json), plus the one-worker split cost (tokens/s, overlap on
# vs off with no ring: what cutting the graph into stages costs by itself).
#
#   bench/overlap-bench.sh [PAIRS=2] [SMALL_STEPS=300] [BIG_STEPS=30] [BUCKETS=2]
#
# small = the shakespeare-char-small preset (L4 H4 C128 T64 B12); big = the shakespeare-char
# shape at B12 (L6 H6 C384 T256), as `bench step --config big`. N workers x 1 thread each,
# embedded cluster (one JVM), evaluation off during the timed steps. Needs ops/target/troupe.jar.
set -euo pipefail
cd "$(dirname "$0")/.."
PAIRS=${1:-2}
SMALL_STEPS=${2:-300}
BIG_STEPS=${3:-30}
BUCKETS=${4:-2}
JAR=ops/target/troupe.jar
[ -f "$JAR" ] || ./mvnw -q -B -DskipTests package
DATA=$(cd ../shared/data/tinyshakespeare && pwd)/input.txt
WORK=$(mktemp -d /tmp/troupe-overlap.XXXXXX)
echo "# $(date -u +%FT%TZ) load: $(cut -d' ' -f1-3 /proc/loadavg)  work dir: $WORK"

field() { # field FILE KEY
  python3 -c "import json,sys; print(json.load(open(sys.argv[1])).get(sys.argv[2], 'nan'))" "$1" "$2"
}

run() { # run NAME WORKERS STEPS OVERLAP PRESET-ARGS...
  local name=$1 workers=$2 steps=$3 overlap=$4
  shift 4
  local out="$WORK/$name"
  java -Xmx2g -jar "$JAR" train --data "$DATA" --out "$out" --steps "$steps" --workers "$workers" \
    --threads "$workers" --seed 1337 "$@" eval_interval=100000 eval_iters=1 log_interval=100000 \
    overlap_allreduce="$overlap" allreduce_buckets="$BUCKETS" > "$out.log" 2>&1 \
    || { echo "run $name failed; see $out.log" >&2; tail -5 "$out.log" >&2; return 1; }
  echo "$out/summary.json"
}

SMALL=(--preset shakespeare-char-small)
BIG=(--preset shakespeare-char batch_size=12 grad_accum=1 ort_arena=true)

echo "## split cost on one worker (no ring): tokens/s off vs on"
for p in $(seq 1 "$PAIRS"); do
  a=$(run "split-off-$p" 1 "$SMALL_STEPS" false "${SMALL[@]}")
  b=$(run "split-on-$p" 1 "$SMALL_STEPS" true "${SMALL[@]}")
  printf "small pair %d: off %.0f tok/s, on %.0f tok/s, on/off %.3f\n" "$p" \
    "$(field "$a" tokens_per_second)" "$(field "$b" tokens_per_second)" \
    "$(python3 -c "print($(field "$b" tokens_per_second)/$(field "$a" tokens_per_second))")"
done

for config in small big; do
  if [ "$config" = small ]; then args=("${SMALL[@]}"); steps=$SMALL_STEPS; else args=("${BIG[@]}"); steps=$BIG_STEPS; fi
  for n in 2 3; do
    echo "## $config, $n workers x 1 thread, $steps steps, buckets $BUCKETS"
    echo "pair | off: step ms, allreduce ms, exposed fraction | on: step ms, allreduce ms, exposed fraction"
    for p in $(seq 1 "$PAIRS"); do
      a=$(run "$config-n$n-off-$p" "$n" "$steps" false "${args[@]}")
      b=$(run "$config-n$n-on-$p" "$n" "$steps" true "${args[@]}")
      printf "%d | %.1f, %.1f, %.3f | %.1f, %.1f, %.3f\n" "$p" \
        "$(field "$a" step_ms)" "$(field "$a" allreduce_ms_per_step)" "$(field "$a" allreduce_exposed_fraction)" \
        "$(field "$b" step_ms)" "$(field "$b" allreduce_ms_per_step)" "$(field "$b" allreduce_exposed_fraction)"
    done
  done
done
echo "# done $(date -u +%FT%TZ) load: $(cut -d' ' -f1-3 /proc/loadavg)"
