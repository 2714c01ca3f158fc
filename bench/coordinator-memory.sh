#!/usr/bin/env bash
# Coordinator memory over a long run, as separate processes (issue 15): one `troupe coordinator`,
# started through the ./troupe launcher with the JVM options an operator gets by default (the
# launcher's coordinator defaults, then COORD_JAVA_OPTS, which win), and two `troupe worker` JVMs
# (1 thread each, small preset). /metrics is scraped once a second for the whole run by one curl
# on a fixed schedule (--rate 1/s over one kept-alive connection, as a Prometheus server does;
# every scrape's status is logged, so the rate reached is counted, not assumed).
# Every 10 s it records the coordinator's RSS (/proc/PID/status), its heap after the last GC (the
# heap pools' jvm_memory_pool_collection_used_bytes, which costs no extra GC), the committed heap,
# JIT code cache and metaspace (from the same scrape); every 60 s (and at start and end) a class
# histogram, which runs a full GC first, so its total is the live heap. At the end: first/last and
# least-squares slopes (MiB/min) over the whole run and after the warm-up (from WARMUP seconds on),
# the classes that grew most, and a native-memory diff (NMT) over the run.
#
# Usage: bench/coordinator-memory.sh [SECONDS=600] [OUT=/tmp/troupe-coordmem]
# Env: DATA (default ../shared/data/tinyshakespeare/input.txt), WARMUP (default 180),
#      COORD_JAVA_OPTS (JVM options for the coordinator after the launcher's defaults, which they override),
#      NMT (default 1: -XX:NativeMemoryTracking=summary on the coordinator, for the diff),
#      PORT_BASE (default 22500), HEARTBEAT_PAUSE (default 20s: every node's acceptable-heartbeat-pause;
#      the 2 s default downs nodes whose heartbeats a loaded machine delays, which ends the job).
# Runs ops/target/troupe.jar (./troupe builds it if missing). Takes SECONDS plus the start-up
# (about 30 s quiet, a minute or more on a loaded machine).
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_TOTAL=${1:-600}
OUT=${2:-/tmp/troupe-coordmem}
JAR=ops/target/troupe.jar
# ../shared from the main checkout, ../../shared from a worktree under /work/wt.
DATA=${DATA:-$(ls ../shared/data/tinyshakespeare/input.txt ../../shared/data/tinyshakespeare/input.txt 2>/dev/null | head -1 || true)}
WARMUP=${WARMUP:-180}
BASE=${PORT_BASE:-22500}
CLUSTER=$BASE METRICS=$((BASE + 1))
[ -n "$DATA" ] && [ -f "$DATA" ] || { echo "coordinator-memory: data file $DATA is missing: set DATA=FILE" >&2; exit 2; }
[ -f "$JAR" ] || { echo "coordinator-memory: $JAR is missing: build it with ./mvnw -B -o -q -pl ops -am package -DskipTests" >&2; exit 2; }
# The bind timeout is set both ways so that the script also runs jars from before troupe.cluster.bind-timeout.
NODE_OPTS=(-Dpekko.cluster.failure-detector.acceptable-heartbeat-pause=${HEARTBEAT_PAUSE:-20s}
  -Dtroupe.cluster.bind-timeout=60s -Dpekko.remote.artery.bind.bind-timeout=60s)
mkdir -p "$OUT"
rm -rf "$OUT/run" "$OUT"/histo-*.txt
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

# The coordinator through the launcher, as an operator starts it. JDK_JAVA_OPTIONS adds the
# bench's own options (heartbeat pause, NMT) without replacing the launcher's defaults.
extra="${NODE_OPTS[*]}"
[ "${NMT:-1}" = 1 ] && extra="$extra -XX:NativeMemoryTracking=summary"
if [ -n "${COORD_JAVA_OPTS:-}" ]; then export TROUPE_JAVA_OPTS="$COORD_JAVA_OPTS"; else unset TROUPE_JAVA_OPTS; fi
JDK_JAVA_OPTIONS="$extra" ./troupe coordinator --bind 127.0.0.1:$CLUSTER --workers 2 --data "$DATA" \
  --out "$OUT/run" --preset shakespeare-char-small --steps 1000000 --metrics-bind 127.0.0.1:$METRICS \
  eval_interval=500 eval_iters=2 > "$OUT/coordinator.log" 2>&1 &
COORD=$!; pids+=("$COORD")
unset TROUPE_JAVA_OPTS
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
echo "coordinator JVM: $(tr '\0' ' ' < /proc/$COORD/cmdline | sed 's/ -cp .*\| -jar .*//')"

# The scraper: one curl, one scrape a second on a fixed schedule, bodies discarded, one status line each.
curl -s --rate 1/s "http://127.0.0.1:$METRICS/metrics?scrape=[1-$((SECONDS_TOTAL + 60))]" \
  -w '%{stderr}%{http_code} %{time_total}\n' > /dev/null 2> "$OUT/scrapes.txt" &
SCRAPER=$!; pids+=("$SCRAPER")

metrics() { curl -sf -m 10 "http://127.0.0.1:$METRICS/metrics" || true; }
memory() { # "heap_after_gc heap_committed code_cache metaspace" in MiB, from one scrape
  metrics | awk '
    /^jvm_memory_pool_collection_used_bytes/ && /G1|PS |Tenured|Eden|Survivor|Old/ { gc += $NF }
    /^jvm_memory_committed_bytes\{area="heap"/ { heap = $NF }
    /^jvm_memory_pool_committed_bytes/ && /pool="Code/ { code += $NF }
    /^jvm_memory_pool_committed_bytes/ && /pool="Metaspace"/ { meta = $NF }
    END { printf "%.1f %.1f %.1f %.1f\n", gc / 1048576, heap / 1048576, code / 1048576, meta / 1048576 }'
}
live_heap() { # MiB after a full GC, from the histogram's total line; keeps the histogram
  jcmd "$COORD" GC.class_histogram > "$OUT/histo-$1.txt" 2>/dev/null || { echo NA; return; }
  awk '/^Total/ {printf "%.1f", $3 / 1048576}' "$OUT/histo-$1.txt"
}
rss() { awk '/^VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$COORD/status"; }
step() { grep -o '^step [0-9]*' "$OUT/coordinator.log" | tail -1 | cut -d' ' -f2; }

echo "seconds step rss_mib heap_after_gc_mib live_heap_mib load heap_committed_mib code_cache_mib metaspace_mib scrapes" > "$OUT/series.txt"
jcmd "$COORD" VM.native_memory baseline > /dev/null 2>&1 || true
start=$(date +%s)
while :; do
  t=$(( $(date +%s) - start ))
  kill -0 "$COORD" 2>/dev/null || { echo "coordinator exited at ${t}s"; tail -5 "$OUT/coordinator.log"; exit 1; }
  live=-
  if (( t % 60 < 10 )) || (( t >= SECONDS_TOTAL )); then live=$(live_heap "$t"); fi
  read -r gc committed code meta < <(memory) || true
  echo "$t $(step) $(rss) $gc $live $(cut -d' ' -f1 /proc/loadavg) $committed $code $meta $(wc -l < "$OUT/scrapes.txt")" | tee -a "$OUT/series.txt"
  (( t >= SECONDS_TOTAL )) && break
  sleep 10
done

jcmd "$COORD" VM.native_memory summary.diff > "$OUT/native-memory-diff.txt" 2>&1 || true
elapsed=$(( $(date +%s) - start ))
kill "$SCRAPER" 2>/dev/null || true
awk -v s="$elapsed" '{ n++; if ($1 != 200) bad++ ; if ($2 > max) max = $2 }
  END { printf "scrapes: %d in %d s (%.2f/s), %d not 200, slowest %.3f s\n", n, s, n / s, bad, max }' "$OUT/scrapes.txt"
slopes() { # $1 = from seconds, $2 = label
  awk -v from="$1" -v label="$2" 'NR > 1 && $1 >= from {
    n++; x = $1 / 60; xs += x; xx += x * x
    for (k = 3; k <= 9; k++) if (k != 5 && k != 6) { v[k] += $k; xv[k] += x * $k; if (n == 1) f[k] = $k; l[k] = $k }
    if ($5 != "-" && $5 != "NA") { if (l0 == "") l0 = $5; l1 = $5 }
    if (n == 1) t0 = $1; t1 = $1
  } END {
    d = n * xx - xs * xs
    printf "%s (%d-%d s, %d samples):\n", label, t0, t1, n
    printf "  RSS %.1f -> %.1f MiB, slope %+.2f MiB/min\n", f[3], l[3], (n * xv[3] - xs * v[3]) / d
    printf "  heap after GC %.1f -> %.1f MiB, slope %+.3f MiB/min; live heap (full GC) %s -> %s MiB\n", f[4], l[4], (n * xv[4] - xs * v[4]) / d, l0, l1
    printf "  committed: heap %.1f -> %.1f MiB, code cache %.1f -> %.1f MiB (slope %+.2f MiB/min), metaspace %.1f -> %.1f MiB (slope %+.2f MiB/min)\n", \
      f[7], l[7], f[8], l[8], (n * xv[8] - xs * v[8]) / d, f[9], l[9], (n * xv[9] - xs * v[9]) / d
  }' "$OUT/series.txt"
}
slopes 0 "whole run"
slopes "$WARMUP" "after the warm-up"
first=$OUT/$(ls "$OUT" | grep '^histo-' | sort -t- -k2 -n | head -1); last=$OUT/$(ls "$OUT" | grep '^histo-' | sort -t- -k2 -n | tail -1)
echo "classes that grew most between $(basename "$first") and $(basename "$last") (bytes):"
join -1 1 -2 1 <(awk '$1 ~ /:$/ {print $4, $3}' "$first" | sort) <(awk '$1 ~ /:$/ {print $4, $3}' "$last" | sort) \
  | awk '{print $3 - $2, $1}' | sort -rn | head -8 || true
if [ -s "$OUT/native-memory-diff.txt" ]; then
  echo "native memory over the run (NMT: committed now, change since the first sample):"
  awk '/^Total:/ { sub(/^Total: reserved=[^,]*, /, ""); print "  Total " $0 }
       /^- +[A-Za-z ]+\(reserved=/ { name = $0; sub(/^- +/, "", name); sub(/ *\(.*/, "", name)
         c = $0; sub(/.*committed=/, "", c); sub(/\).*/, "", c); printf "  %s %s\n", name, c }' "$OUT/native-memory-diff.txt" || true
fi
echo "load average now: $(cut -d' ' -f1-3 /proc/loadavg); series in $OUT/series.txt"
