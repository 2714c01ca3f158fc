#!/usr/bin/env bash
# One pool for training and trials (issue 19, item 5): a study and a long training job on the same
# WORKERS worker processes, together (tune --external --train-alongside: the pool lends the job
# every worker the trials leave idle and takes one back for a waiting trial) against one after the
# other (tune --external, then coordinator --workers WORKERS, on fresh worker processes). Workers
# start once their coordinator listens (both arms); each arm's time includes its coordinators' start.
#
# Pairs run interleaved (together, sequential, together, sequential, ...), so that load changes hit
# both arms alike. Each arm's time is its commands' wall time, JVM starts included (the sequential
# arm starts a coordinator and its workers twice: a few seconds on a quiet machine). Both arms train the same study
# (same seed, so the same trials) and the same job (its final val loss is printed as a check).
#
# Usage: bench/pool-bench.sh [OUT]      (default OUT: runs/pool-bench)
# Environment: WORKERS (3), THREADS (1, per worker), TRIALS (4), STEPS (150, per trial), JOB_STEPS
#   (400), PAIRS (2), PORT (25600, first of the ports used), DATA (../shared/data/tinyshakespeare/input.txt),
#   JAR (ops/target/troupe.jar), JAVA_OPTS (JVM options of every process, e.g. -Dtroupe.pool.lend-wait=3s).
# With the defaults one pair takes about 4 minutes on a quiet 2-core machine (more under load).
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${1:-$root/runs/pool-bench}"
WORKERS="${WORKERS:-3}"
THREADS="${THREADS:-1}"
TRIALS="${TRIALS:-4}"
STEPS="${STEPS:-150}"
JOB_STEPS="${JOB_STEPS:-400}"
PAIRS="${PAIRS:-2}"
PORT="${PORT:-25600}"
DATA="${DATA:-$root/../shared/data/tinyshakespeare/input.txt}"
JAR="${JAR:-$root/ops/target/troupe.jar}"
read -r -a jvm <<< "${JAVA_OPTS:-}"
mkdir -p "$out"
[[ -f "$JAR" ]] || { echo "no $JAR; build it with ./mvnw -B -q -pl ops -am package -DskipTests" >&2; exit 2; }

# A tiny model, so that a pair runs in minutes; the job trains the same model longer.
cat > "$out/space.conf" <<EOF
preset = shakespeare-char-small
fixed { n_layer = 2, n_head = 2, n_embd = 32, block_size = 32, batch_size = 8, eval_interval = 50, eval_iters = 5 }
params { learning_rate { type = log, min = 3e-4, max = 3e-3 } }
EOF
cat > "$out/job.conf" <<EOF
n_layer = 2
n_head = 2
n_embd = 32
block_size = 32
batch_size = 8
eval_interval = 100
eval_iters = 5
max_iters = $JOB_STEPS
lr_decay_iters = $JOB_STEPS
warmup_iters = 20
EOF
results="$out/results.tsv"
[[ -f "$results" ]] || printf 'pair\tarm\twall_seconds\tstudy_seconds\tjob_seconds\tjob_final_val_loss\tload1\tfinished_utc\n' > "$results"

port=$PORT
next_port() { port=$((port + 1)); }

# start_workers LOG [COMMAND_LOG]: WORKERS workers joining 127.0.0.1:$port, once COMMAND_LOG says
# its coordinator listens (a worker started long before gives up: join-timeout); pids in $pids.
start_workers() {
  pids=()
  if [[ -n "${2:-}" ]]; then
    until grep -q "listens on 127.0.0.1:$port" "$2" 2>/dev/null; do
      kill -0 "$cmd" 2>/dev/null || return 0
      sleep 0.2
    done
  fi
  for _ in $(seq "$WORKERS"); do
    java "${jvm[@]}" -jar "$JAR" worker --join "127.0.0.1:$port" --join-timeout 300 --threads "$THREADS" >> "$1" 2>&1 &
    pids+=($!)
  done
}

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
val_loss() { grep -o '"final_val_loss" *: *[0-9.]*' "$1/summary.json" 2>/dev/null | grep -o '[0-9.]*$' || echo "-"; }
load1() { cut -d' ' -f1 /proc/loadavg; }

tune_study() { # DIR MORE...: the study on WORKERS workers at $port, started once it listens
  local dir=$1 rc; shift
  java "${jvm[@]}" -jar "$JAR" tune --space "$out/space.conf" --data "$DATA" --out "$dir/study" --trials "$TRIALS" \
    --steps "$STEPS" --seed 0 --workers "$WORKERS" --threads "$THREADS" --external --bind "127.0.0.1:$port" "$@" \
    >> "$dir/tune.log" 2>&1 &
  cmd=$!
  start_workers "$dir/workers.log" "$dir/tune.log"
  wait "$cmd"; rc=$?
  wait "${pids[@]}"
  return $rc
}

together() { # PAIR
  local dir="$out/together-$1" start end
  rm -rf "$dir"; mkdir -p "$dir"; next_port
  start=$(now)
  tune_study "$dir" --train-alongside "$out/job.conf" --train-out "$dir/job" --train-max-workers "$WORKERS" \
    || echo "together $1: tune failed, see $dir/tune.log" >&2
  end=$(now)
  printf '%s\ttogether\t%s\t-\t-\t%s\t%s\t%s\n' "$1" "$(secs "$start" "$end")" "$(val_loss "$dir/job")" "$(load1)" \
    "$(date -u +%FT%TZ)" >> "$results"
  echo "pair $1 together:   $(secs "$start" "$end") s (job val loss $(val_loss "$dir/job"), load $(load1))"
}

sequential() { # PAIR
  local dir="$out/sequential-$1" start middle end
  rm -rf "$dir"; mkdir -p "$dir"; next_port
  start=$(now)
  tune_study "$dir" || echo "sequential $1: tune failed, see $dir/tune.log" >&2
  middle=$(now)
  next_port
  java "${jvm[@]}" -jar "$JAR" coordinator --config "$out/job.conf" --data "$DATA" --out "$dir/job" --workers "$WORKERS" \
    --bind "127.0.0.1:$port" >> "$dir/coordinator.log" 2>&1 &
  cmd=$!
  start_workers "$dir/workers.log" "$dir/coordinator.log"
  wait "$cmd" || echo "sequential $1: job failed, see $dir/coordinator.log" >&2
  end=$(now)
  wait "${pids[@]}"
  printf '%s\tsequential\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$(secs "$start" "$end")" "$(secs "$start" "$middle")" \
    "$(secs "$middle" "$end")" "$(val_loss "$dir/job")" "$(load1)" "$(date -u +%FT%TZ)" >> "$results"
  echo "pair $1 sequential: $(secs "$start" "$end") s (study $(secs "$start" "$middle") s + job $(secs "$middle" "$end") s;" \
    "job val loss $(val_loss "$dir/job"), load $(load1))"
}

echo "$WORKERS workers x $THREADS thread(s); study: $TRIALS trials x $STEPS steps; job: $JOB_STEPS steps; $PAIRS pair(s) -> $results"
for pair in $(seq "$PAIRS"); do
  together "$pair"
  sequential "$pair"
done
awk -F'\t' 'NR > 1 { sum[$2] += $3; n[$2]++ }
  END { if (n["together"] && n["sequential"]) printf "mean: together %.1f s, sequential %.1f s, ratio %.3f\n",
        sum["together"] / n["together"], sum["sequential"] / n["sequential"],
        (sum["together"] / n["together"]) / (sum["sequential"] / n["sequential"]) }' "$results"
