#!/usr/bin/env bash
# Chaos run (issue 16): a coordinator and 3 workers train shakespeare-char-small for STEPS steps on
# loopback, first undisturbed, then again with the same seed while, every ~EVERY steps, one random
# disruption hits it: SIGKILL of a worker (a replacement joins), SIGSTOP of a worker for 2-15 s, a
# new worker joining (while fewer than 3 run), or SIGTERM of a worker (a graceful leave). Prints
# the disruptions, the summary of both runs (samples consumed / duplicated / lost, membership
# changes, recoveries) and the final val loss of each.
#
#   bench/chaos-run.sh [STEPS=200] [EVERY=20] [SEED=random] [OUT=mktemp]
#
# Uses ops/target/troupe.jar (build it with ./mvnw -B -o -q -pl ops -am package -DskipTests).
# JAVA_OPTS (default below) holds the test-only settings that keep a cluster of 4 JVMs together on
# a loaded 2-core machine (see SecurityIT.UNDER_LOAD); JAVA_OPTS= runs the production defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
STEPS=${1:-200}
EVERY=${2:-20}
SEED=${3:-$RANDOM}
WORK=${4:-$(mktemp -d /tmp/troupe-chaos.XXXXXX)}
JAVA_OPTS=${JAVA_OPTS-"-Dpekko.cluster.failure-detector.heartbeat-interval=1s -Dpekko.cluster.failure-detector.acceptable-heartbeat-pause=20s -Dpekko.cluster.split-brain-resolver.stable-after=20s -Dpekko.cluster.split-brain-resolver.down-all-when-unstable=off -Dpekko.remote.artery.bind.bind-timeout=60s -XX:+UseSerialGC"}
JAR=ops/target/troupe.jar
[ -f "$JAR" ] || { echo "no $JAR: build it first (./mvnw -B -o -q -pl ops -am package -DskipTests)" >&2; exit 2; }
mkdir -p "$WORK"
cp "$JAR" "$WORK/troupe.jar"
DATA=$(cd ../shared/data/tinyshakespeare && pwd)/input.txt
RANDOM=$SEED
echo "chaos seed $SEED, $STEPS steps, a disruption every ~$EVERY steps; logs in $WORK"

pids=()
cleanup() { for p in "${pids[@]}"; do kill -CONT "$p" 2>/dev/null || true; kill -9 "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

free_port() { python3 -c "import socket;s=socket.socket();s.bind(('127.0.0.1',0));print(s.getsockname()[1])"; }
last_step() { # the last step in a run's metrics.jsonl, 0 before the first
  [ -f "$1/metrics.jsonl" ] && tail -n 1 "$1/metrics.jsonl" | sed -n 's/.*"step" *: *\([0-9]*\).*/\1/p' | tail -1 || echo 0
}

coordinator() { # NAME PORT
  # shellcheck disable=SC2086
  java -Xmx1g $JAVA_OPTS -jar "$WORK/troupe.jar" coordinator --bind "127.0.0.1:$2" --workers 3 --max-workers 3 \
    --min-workers 1 --data "$DATA" --out "$WORK/$1" --preset shakespeare-char-small --steps "$STEPS" --seed 1337 \
    eval_iters=5 eval_interval=50 log_interval=1 > "$WORK/$1.log" 2>&1 &
  coord=$!
  pids+=("$coord")
}
workers=()
worker() { # PORT NAME
  # shellcheck disable=SC2086
  java -Xmx1g $JAVA_OPTS -jar "$WORK/troupe.jar" worker --join "127.0.0.1:$1" --threads 1 --join-timeout 600 \
    > "$WORK/$2.log" 2>&1 &
  workers+=($!)
  pids+=($!)
}
alive_workers() { local a=(); for w in "${workers[@]}"; do kill -0 "$w" 2>/dev/null && a+=("$w"); done; workers=("${a[@]}"); }

# 1. undisturbed
port=$(free_port)
coordinator calm "$port"
for i in 1 2 3; do worker "$port" "calm-w$i"; done
start=$(date +%s)
wait "$coord" || { echo "the undisturbed run failed: see $WORK/calm.log" >&2; exit 1; }
echo "undisturbed run: $(( $(date +%s) - start )) s"
for w in "${workers[@]}"; do kill -9 "$w" 2>/dev/null || true; done
workers=()

# 2. chaos
port=$(free_port)
coordinator chaos "$port"
for i in 1 2 3; do worker "$port" "w$i"; done
n=3
next=$(( EVERY / 2 + RANDOM % EVERY ))
start=$(date +%s)
while kill -0 "$coord" 2>/dev/null; do
  step=$(last_step "$WORK/chaos")
  if [ "${step:-0}" -ge "$next" ] && [ "$next" -lt $(( STEPS - 10 )) ]; then
    alive_workers
    action=$(( RANDOM % 4 ))
    if [ "${#workers[@]}" -lt 3 ]; then action=2; fi           # a join while fewer than 3 run
    if [ "${#workers[@]}" -le 1 ] && [ "$action" != 2 ]; then action=2; fi
    victim=${workers[$(( RANDOM % ${#workers[@]} ))]}
    case $action in
      0) kill -9 "$victim"; n=$((n + 1)); worker "$port" "w$n"
         echo "step $step: SIGKILL worker $victim, worker w$n joins" ;;
      1) pause=$(( 2 + RANDOM % 14 )); kill -STOP "$victim"
         echo "step $step: SIGSTOP worker $victim for $pause s"
         ( sleep "$pause"; kill -CONT "$victim" 2>/dev/null ) & ;;
      2) n=$((n + 1)); worker "$port" "w$n"
         echo "step $step: worker w$n joins (${#workers[@]} were running)" ;;
      3) kill -TERM "$victim"
         echo "step $step: SIGTERM worker $victim (leaves)" ;;
    esac
    next=$(( step + EVERY / 2 + RANDOM % EVERY ))
  fi
  sleep 0.5
done
wait "$coord" && rc=0 || rc=$?
echo "chaos run: $(( $(date +%s) - start )) s, coordinator exit $rc"
python3 - "$WORK/calm/summary.json" "$WORK/chaos/summary.json" "$STEPS" <<'PY'
import json, sys
calm, chaos, steps = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), int(sys.argv[3])
for name, s in (("undisturbed", calm), ("chaos", chaos)):
    print(f"{name}: steps {s['steps']}, samples consumed {s['samples_consumed']} (expected {steps * 12}), "
          f"duplicated {s['samples_duplicated']}, lost {s['samples_lost']}, membership changes "
          f"{s.get('membership_changes')}, recoveries {len(s.get('recovery_seconds', []))}, "
          f"final val loss {s['final_val_loss']:.4f}")
print(f"fault history (chaos): {chaos.get('fault_history')}")
d = abs(chaos['final_val_loss'] - calm['final_val_loss'])
ok = chaos['steps'] == steps and chaos['samples_duplicated'] == 0 and chaos['samples_lost'] == 0 \
    and chaos['samples_consumed'] == steps * 12 and d <= 0.05
print(f"|final val loss chaos - undisturbed| = {d:.4f} (goal <= 0.05): {'PASS' if ok else 'FAIL'}")
sys.exit(0 if ok else 1)
PY
