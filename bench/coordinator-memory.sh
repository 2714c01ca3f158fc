#!/usr/bin/env bash
# Coordinator memory over a long run, as separate processes (issue 15): one `troupe coordinator`
# and two `troupe worker` JVMs (1 thread each, small preset), /metrics scraped every second.
# Every 10 s it records the coordinator's RSS (/proc/PID/status) and its heap after the last GC
# (the Prometheus gauge jvm_memory_pool_collection_used_bytes summed over the heap pools, which
# costs no extra GC); every 60 s (and at start and end) a class histogram, which runs a full GC
# first, so its total is the live heap. At the end it prints first/last and the least-squares
# slope (MB/min) of each series.
#
# Usage: bench/coordinator-memory.sh [SECONDS=600] [OUT=/tmp/troupe-coordmem]
# Env: TROUPE_JAR (default ops/target/troupe.jar), DATA (default ../shared/data/tinyshakespeare/input.txt),
#      COORD_JAVA_OPTS (extra JVM options for the coordinator, e.g. -Xmx256m), PORT_BASE (default 19500),
#      HEARTBEAT_PAUSE (default 20s: every node's acceptable-heartbeat-pause; the 2 s default downs
#      nodes whose heartbeats a loaded machine delays, which ends the job; memory is what is measured).
# Takes SECONDS plus the start-up (about a minute on a loaded machine).
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_TOTAL=${1:-600}
OUT=${2:-/tmp/troupe-coordmem}
JAR=${TROUPE_JAR:-ops/target/troupe.jar}
DATA=${DATA:-../shared/data/tinyshakespeare/input.txt}
BASE=${PORT_BASE:-19500}
CLUSTER=$BASE METRICS=$((BASE + 1))
# The bind timeout is set both ways so that the script also runs jars from before troupe.cluster.bind-timeout.
NODE_OPTS=(-Dpekko.cluster.failure-detector.acceptable-heartbeat-pause=${HEARTBEAT_PAUSE:-20s}
  -Dtroupe.cluster.bind-timeout=60s -Dpekko.remote.artery.bind.bind-timeout=60s)
mkdir -p "$OUT"
rm -rf "$OUT/run" "$OUT"/histo-*.txt
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

# shellcheck disable=SC2086
java "${NODE_OPTS[@]}" ${COORD_JAVA_OPTS:-} -jar "$JAR" coordinator --bind 127.0.0.1:$CLUSTER --workers 2 --data "$DATA" \
  --out "$OUT/run" --preset shakespeare-char-small --steps 1000000 --metrics-bind 127.0.0.1:$METRICS \
  eval_interval=500 eval_iters=2 > "$OUT/coordinator.log" 2>&1 &
COORD=$!; pids+=("$COORD")
for w in 1 2; do
  java "${NODE_OPTS[@]}" -jar "$JAR" worker --join 127.0.0.1:$CLUSTER --threads 1 --join-timeout 180 > "$OUT/worker-$w.log" 2>&1 &
  pids+=("$!")
done

# Wait for the first trained step (the coordinator logs "step N/...").
for _ in $(seq 1 600); do
  grep -q '^step ' "$OUT/coordinator.log" 2>/dev/null && break
  kill -0 "$COORD" 2>/dev/null || { echo "coordinator exited:"; tail -5 "$OUT/coordinator.log"; exit 1; }
  sleep 1
done
grep -q '^step ' "$OUT/coordinator.log" || { echo "no step after 600 s"; tail -5 "$OUT"/*.log; exit 1; }

# The scraper: /metrics once a second for the whole run, bodies discarded, failures counted.
# Each scrape runs in the background so that a slow one (a loaded machine) does not stretch the second.
: > "$OUT/scrape-failures.txt"
( n=0
  while kill -0 "$COORD" 2>/dev/null; do
    ( curl -sf -m 10 -o /dev/null "http://127.0.0.1:$METRICS/metrics" || echo x >> "$OUT/scrape-failures.txt" ) &
    n=$((n + 1)); echo "$n" > "$OUT/scrapes.txt"; sleep 1
  done ) &
pids+=("$!")

heap_committed() { # MiB the JVM has committed for its heap (RSS counts only the pages of it already touched)
  curl -sf "http://127.0.0.1:$METRICS/metrics" | awk '/^jvm_memory_committed_bytes\{area="heap"/ {printf "%.1f", $NF / 1048576}'
}
heap_after_gc() { # MiB: the heap pools' usage right after their last collection
  curl -sf "http://127.0.0.1:$METRICS/metrics" | awk '/^jvm_memory_pool_collection_used_bytes/ && /G1|PS |Tenured|Eden|Survivor|Old/ {s += $NF} END {printf "%.1f", s / 1048576}'
}
live_heap() { # MiB after a full GC, from the histogram's total line; keeps the histogram
  jcmd "$COORD" GC.class_histogram > "$OUT/histo-$1.txt" 2>/dev/null || { echo NA; return; }
  awk '/^Total/ {printf "%.1f", $3 / 1048576}' "$OUT/histo-$1.txt"
}
rss() { awk '/^VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$COORD/status"; }
step() { grep -o '^step [0-9]*' "$OUT/coordinator.log" | tail -1 | cut -d' ' -f2; }

echo "seconds step rss_mib heap_after_gc_mib live_heap_mib load heap_committed_mib" > "$OUT/series.txt"
# With COORD_JAVA_OPTS=-XX:NativeMemoryTracking=summary this also diffs the JVM's native memory at the end.
jcmd "$COORD" VM.native_memory baseline > /dev/null 2>&1 || true
start=$(date +%s)
while :; do
  t=$(( $(date +%s) - start ))
  kill -0 "$COORD" 2>/dev/null || { echo "coordinator exited at ${t}s"; tail -5 "$OUT/coordinator.log"; exit 1; }
  live=-
  if (( t % 60 < 10 )) || (( t >= SECONDS_TOTAL )); then live=$(live_heap "$t"); fi
  echo "$t $(step) $(rss) $(heap_after_gc) $live $(cut -d' ' -f1 /proc/loadavg) $(heap_committed)" | tee -a "$OUT/series.txt"
  (( t >= SECONDS_TOTAL )) && break
  sleep 10
done

jcmd "$COORD" VM.native_memory summary.diff > "$OUT/native-memory-diff.txt" 2>&1 || true
echo "scrapes: $(cat "$OUT/scrapes.txt") started, $(wc -l < "$OUT/scrape-failures.txt") failed"
awk 'NR > 1 {
  n++; x = $1 / 60; xs += x; xx += x * x
  r = $3; rs += r; xr += x * r
  h = $4; hs += h; xh += x * h
  if (n == 1) { r0 = r; h0 = h; c0 = $7 }
  r1 = r; h1 = h; c1 = $7
  if ($5 != "-") { if (!l0) l0 = $5; l1 = $5 }
} END {
  d = n * xx - xs * xs
  printf "RSS: first %.1f MiB, last %.1f MiB, slope %+.2f MiB/min\n", r0, r1, (n * xr - xs * rs) / d
  printf "heap after GC: first %.1f MiB, last %.1f MiB, slope %+.3f MiB/min\n", h0, h1, (n * xh - xs * hs) / d
  printf "live heap (full GC): first %s MiB, last %s MiB; heap committed: first %s MiB, last %s MiB\n", l0, l1, c0, c1
}' "$OUT/series.txt"
first=$OUT/$(ls "$OUT" | grep '^histo-' | sort -t- -k2 -n | head -1); last=$OUT/$(ls "$OUT" | grep '^histo-' | sort -t- -k2 -n | tail -1)
echo "classes that grew most between $(basename "$first") and $(basename "$last") (bytes):"
join -1 1 -2 1 <(awk '$1 ~ /:$/ {print $4, $3}' "$first" | sort) <(awk '$1 ~ /:$/ {print $4, $3}' "$last" | sort) \
  | awk '{print $3 - $2, $1}' | sort -rn | head -8
