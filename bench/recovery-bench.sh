#!/usr/bin/env bash
# Recovery after SIGKILL: a coordinator and 3 workers train the small preset on loopback while a
# worker is killed every KILL_EVERY seconds (and a replacement started right after). Prints the
# distribution of recovery times (failure -> next completed step) from the run's summary.json.
#
#   bench/recovery-bench.sh [KILLS=10] [KILL_EVERY=15]
set -euo pipefail
cd "$(dirname "$0")/.."
KILLS=${1:-10}
KILL_EVERY=${2:-15}
JAR=ops/target/troupe.jar
[ -f "$JAR" ] || ./mvnw -q -B -DskipTests install
WORK=$(mktemp -d /tmp/troupe-recovery.XXXXXX)
cp "$JAR" "$WORK/troupe.jar"
DATA=$(cd ../shared/data/tinyshakespeare && pwd)/input.txt
PORT=$(python3 -c "import socket;s=socket.socket();s.bind(('127.0.0.1',0));print(s.getsockname()[1])")
STEPS=$(( (KILLS + 2) * KILL_EVERY * 25 ))   # ~40 ms/step with 3 one-thread workers on 2 cores
pids=()
cleanup() { kill -9 "${pids[@]}" 2>/dev/null || true; }
trap cleanup EXIT

java -Xmx1g -jar "$WORK/troupe.jar" coordinator --bind "127.0.0.1:$PORT" --workers 3 --max-workers 3 \
  --data "$DATA" --out "$WORK/run" --steps "$STEPS" eval_iters=5 eval_interval=1000 > "$WORK/coordinator.log" 2>&1 &
coordinator=$!
pids+=("$coordinator")
start_worker() {
  java -Xmx1g -jar "$WORK/troupe.jar" worker --join "127.0.0.1:$PORT" --threads 1 > "$WORK/worker-$1.log" 2>&1 &
  workers+=($!)
  pids+=($!)
}
workers=()
sleep 3
for i in 1 2 3; do start_worker "$i"; done
for k in $(seq 1 "$KILLS"); do
  sleep "$KILL_EVERY"
  victim=${workers[0]}
  workers=("${workers[@]:1}")
  kill -9 "$victim"
  echo "kill $k: worker pid $victim"
  start_worker "r$k"
done
wait "$coordinator"
python3 - "$WORK/run/summary.json" <<'PY'
import json, statistics, sys
s = json.load(open(sys.argv[1]))
r = sorted(s["recovery_seconds"])
print(f"steps {s['steps']}, kills recovered {len(r)}, samples consumed {s['samples_consumed']}, "
      f"duplicated {s['samples_duplicated']}, lost {s['samples_lost']}, membership changes {s['membership_changes']}")
print(f"recovery seconds: min {r[0]:.2f}, median {statistics.median(r):.2f}, max {r[-1]:.2f}, "
      f"mean {statistics.mean(r):.2f}; all: {', '.join(f'{x:.2f}' for x in r)}")
PY
echo "logs in $WORK"
