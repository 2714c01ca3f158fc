#!/usr/bin/env bash
# The HPO benchmark of docs/BENCHMARKS.md (issue 19): on shakespeare-char-small, TRIALS trials of
# STEPS steps over the space in examples/tune-shakespeare-small.conf, SEEDS seeds per method:
#
#   random      random search, every trial to the end (the baseline)
#   tpe         TPE, every trial to the end
#   random-asha random search + ASHA
#   tpe-asha    TPE + ASHA
#   hyperband   random search + Hyperband (brackets of ASHA)
#   pbt         population-based training of TRIALS members: TRIALS x STEPS steps, as random search
#
# Built to run unattended for hours on a shared machine: every study is its own directory under
# OUT; a study already in OUT/results.tsv is skipped, an interrupted one is resumed (a PBT study
# by a jar too old to resume one is started over); results go
# to OUT/results.tsv one line per study as it finishes, and OUT/summary.txt is rewritten after
# each (best val loss mean +- std over seeds, total steps, wall time per method).
#
# Usage: bench/tune-bench.sh [OUT]      (default OUT: runs/tune-bench)
# Environment: TRIALS (16), STEPS (600), SEEDS ("0 1 2"), THREADS (2), METHODS (all six, in the
#   order above, seed-major so that every method gets seed 0 before any gets seed 1),
#   DATA (../shared/data/tinyshakespeare/input.txt), SPACE (examples/tune-shakespeare-small.conf),
#   JAR (ops/target/troupe.jar; copy it elsewhere to keep the benchmark's jar fixed while you build).
# Quick check of the script: TRIALS=4 STEPS=60 SEEDS=0 bench/tune-bench.sh /tmp/tune-bench-smoke
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${1:-$root/runs/tune-bench}"
TRIALS="${TRIALS:-16}"
STEPS="${STEPS:-600}"
SEEDS="${SEEDS:-0 1 2}"
THREADS="${THREADS:-2}"
METHODS="${METHODS:-random random-asha tpe tpe-asha hyperband pbt}"
DATA="${DATA:-$root/../shared/data/tinyshakespeare/input.txt}"
SPACE="${SPACE:-$root/examples/tune-shakespeare-small.conf}"
JAR="${JAR:-$root/ops/target/troupe.jar}"
mkdir -p "$out"
results="$out/results.tsv"
[[ -f "$results" ]] || printf 'study\tmethod\tseed\tbest_val_loss\tsteps_trained\twall_seconds\tfinished_utc\n' > "$results"

# flags METHOD: the tune flags of a method.
flags() {
  case $1 in
    random) echo "--sampler random --pruner none" ;;
    tpe) echo "--sampler tpe --pruner none" ;;
    random-asha) echo "--sampler random --pruner asha" ;;
    tpe-asha) echo "--sampler tpe --pruner asha" ;;
    hyperband) echo "--sampler random --pruner hyperband" ;;
    pbt) echo "--sampler random --pruner pbt" ;;
    *) echo "unknown method $1" >&2; return 1 ;;
  esac
}

# fresh METHOD SEED DIR LOG [--force]: starts a study.
fresh() {
  # shellcheck disable=SC2046
  java -jar "$JAR" tune --space "$SPACE" --data "$DATA" --out "$3" --trials "$TRIALS" --steps "$STEPS" \
    $(flags "$1") --seed "$2" --threads "$THREADS" "${@:5}" > "$4" 2>&1
}

# run METHOD SEED: one study; appends a line to results.tsv.
run() {
  local method=$1 seed=$2 name="$1-s$2" dir="$out/$1-s$2" log="$out/$1-s$2.log" start end best steps
  if grep -q "^$name	" "$results"; then
    return 0
  fi
  start=$(date +%s.%N)
  local rc
  if [[ -f "$dir/study.db" ]]; then
    java -jar "$JAR" tune --out "$dir" --resume --threads "$THREADS" >> "$log" 2>&1
    rc=$?
    if [[ $rc -eq 2 && $method == pbt ]] && grep -q "cannot be resumed yet" "$log"; then
      # Jars older than PBT resume refuse it: the interrupted population starts over.
      echo "$name: this jar cannot resume a PBT study; starting it over" >&2
      fresh "$method" "$seed" "$dir" "$log" --force
      rc=$?
    fi
  else
    fresh "$method" "$seed" "$dir" "$log"
    rc=$?
  fi
  end=$(date +%s.%N)
  if [[ $rc -ne 0 ]]; then
    echo "$name: exit $rc (see $log)" >&2
    return 0
  fi
  best=$(sed -n 's/^best: trial [0-9]*, val loss \([0-9.]*\).*/\1/p' "$log" | tail -n 1)
  steps=$(sed -n 's/^done: .*, \([0-9]*\) steps trained of .*/\1/p' "$log" | tail -n 1)
  printf '%s\t%s\t%s\t%s\t%s\t%.1f\t%s\n' "$name" "$method" "$seed" "${best:-NA}" "${steps:-NA}" \
    "$(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }')" "$(date -u +%H:%M:%S)" >> "$results"
  echo "$name: best ${best:-NA}, ${steps:-NA} steps" >&2
}

# summary: per method, best val loss mean +- std over the seeds that finished, mean steps, mean wall.
summary() {
  awk -F'\t' -v trials="$TRIALS" -v steps="$STEPS" '
    NR == 1 || $4 == "NA" { next }
    { m = $2; n[m]++; s[m] += $4; ss[m] += $4 * $4; st[m] += $5; w[m] += $6; seeds[m] = seeds[m] " " $3
      if (!(m in order)) { order[m] = ++k; names[k] = m } }
    END {
      printf "%d trials x %d steps; best val loss over seeds (mean +- sample std), steps and wall per study (mean)\n", trials, steps
      printf "%-12s %6s %-10s %18s %10s %9s\n", "method", "seeds", "which", "best val loss", "steps", "wall s"
      for (i = 1; i <= k; i++) {
        m = names[i]; mean = s[m] / n[m]
        var = n[m] > 1 ? (ss[m] - n[m] * mean * mean) / (n[m] - 1) : 0; if (var < 0) var = 0
        printf "%-12s %6d %-10s %10.4f +- %.4f %10.0f %9.0f\n", m, n[m], seeds[m], mean, sqrt(var), st[m] / n[m], w[m] / n[m]
      }
      if ("random" in n && "random-asha" in n)
        printf "ASHA vs random: gap %+.4f (goal <= 0.02), steps %.0f%% (goal <= 40%%)\n",
          s["random-asha"] / n["random-asha"] - s["random"] / n["random"], 100 * (st["random-asha"] / n["random-asha"]) / (st["random"] / n["random"])
    }' "$results" > "$out/summary.txt"
}

for seed in $SEEDS; do
  for method in $METHODS; do
    run "$method" "$seed"
    summary
  done
done
cat "$out/summary.txt"
