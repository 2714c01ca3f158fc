#!/usr/bin/env bash
# The tuner benchmark of docs/BENCHMARKS.md (issue 7): on shakespeare-char-small, TRIALS trials of
# STEPS steps over the space in examples/tune-shakespeare-small.conf.
#
#   1. ASHA vs full random search (same sampler seed): ASHA's best val loss should be within 0.02
#      of full random search's best, using <= 40% of its steps;
#   2. TPE vs random over SEEDS: TPE's best after TRIALS trials vs random's median best;
#   3. wall time of the full random search with 2 trials in parallel (--workers 2) vs 1.
#
# Usage: bench/tune-bench.sh [OUT]      (default OUT: runs/tune-bench; each study in its own directory)
# Environment: TRIALS (16), STEPS (600), SEEDS ("0 1 2 3 4"), THREADS (number of CPUs),
#              DATA (../shared/data/tinyshakespeare/input.txt), SPACE (examples/tune-shakespeare-small.conf).
# The full run trains 12 studies of 16 x 600 steps: hours on a 2-core machine. For a quick check
# of the script: TRIALS=2 STEPS=100 SEEDS=0 bench/tune-bench.sh /tmp/tune-bench-smoke
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${1:-$root/runs/tune-bench}"
TRIALS="${TRIALS:-16}"
STEPS="${STEPS:-600}"
SEEDS="${SEEDS:-0 1 2 3 4}"
THREADS="${THREADS:-$(nproc)}"
DATA="${DATA:-$root/../shared/data/tinyshakespeare/input.txt}"
SPACE="${SPACE:-$root/examples/tune-shakespeare-small.conf}"
mkdir -p "$out"
results="$out/results.tsv"
printf 'study\tsampler\tscheduler\tseed\tworkers\tbest_val_loss\tsteps_trained\twall_seconds\n' > "$results"

# run NAME SAMPLER SCHEDULER SEED WORKERS: one study; appends a line to results.tsv.
run() {
  local name=$1 sampler=$2 scheduler=$3 seed=$4 workers=$5 dir="$out/$1" log="$out/$1.log" start end
  if [[ -f "$dir/study.db" ]]; then
    # Already run (or interrupted): continue it; a finished study runs nothing.
    start=$(date +%s.%N)
    "$root/troupe" tune --out "$dir" --resume --workers "$workers" --threads "$THREADS" > "$log" 2>&1
  else
    start=$(date +%s.%N)
    "$root/troupe" tune --space "$SPACE" --data "$DATA" --out "$dir" --trials "$TRIALS" --steps "$STEPS" \
      --sampler "$sampler" --pruner "$scheduler" --seed "$seed" --workers "$workers" --threads "$THREADS" > "$log" 2>&1
  fi
  end=$(date +%s.%N)
  local best steps
  best=$(sed -n 's/^best: trial [0-9]*, val loss \([0-9.]*\):.*/\1/p' "$log")
  steps=$(sed -n 's/^done: .*, \([0-9]*\) steps trained of .*/\1/p' "$log")
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%.1f\n' "$name" "$sampler" "$scheduler" "$seed" "$workers" "${best:-NA}" \
    "${steps:-NA}" "$(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }')" >> "$results"
  echo "$name: best ${best:-NA}, ${steps:-NA} steps, $(tail -n 1 "$results" | cut -f8) s" >&2
}

for seed in $SEEDS; do
  run "random-none-s$seed" random none "$seed" 1
  run "tpe-none-s$seed" tpe none "$seed" 1
done
first_seed=${SEEDS%% *}
run "random-asha-s$first_seed" random asha "$first_seed" 1
run "random-none-s$first_seed-w2" random none "$first_seed" 2

# The three goals, from results.tsv.
awk -F'\t' -v seed="$first_seed" -v trials="$TRIALS" -v steps="$STEPS" '
  NR == 1 { next }
  $1 == "random-none-s" seed { full_best = $6; full_steps = $7; wall1 = $8 }
  $1 == "random-asha-s" seed { asha_best = $6; asha_steps = $7 }
  $1 == "random-none-s" seed "-w2" { wall2 = $8 }
  $2 == "random" && $3 == "none" && $5 == 1 { random[++nr] = $6 }
  $2 == "tpe" && $3 == "none" { tpe[++nt] = $6; tpe_sum += $6 }
  END {
    printf "\n%d trials x %d steps\n", trials, steps
    printf "ASHA vs full random search (seed %s): best %.4f vs %.4f (gap %+.4f; goal <= 0.02), steps %d vs %d (%.0f%%; goal <= 40%%)\n",
      seed, asha_best, full_best, asha_best - full_best, asha_steps, full_steps, 100 * asha_steps / full_steps
    # median of random bests
    n = nr; for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (random[j] < random[i]) { t = random[i]; random[i] = random[j]; random[j] = t }
    median = (n % 2) ? random[(n + 1) / 2] : (random[n / 2] + random[n / 2 + 1]) / 2
    wins = 0; for (i = 1; i <= nt; i++) if (tpe[i] < median) wins++
    printf "TPE vs random over %d seeds: TPE bests beating random median best %.4f: %d of %d (mean TPE best %.4f)\n",
      nt, median, wins, nt, tpe_sum / nt
    printf "wall time of full random search: %.0f s with 1 trial at a time, %.0f s with 2 in parallel (x%.2f)\n",
      wall1, wall2, wall1 / wall2
  }' "$results" | tee "$out/summary.txt"
