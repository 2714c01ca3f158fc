#!/usr/bin/env bash
# Issue 21's quality goal on this machine: the 3+3-layer, d=256, 4-head model with a shared 8k BPE,
# trained on the Tatoeba English-French pairs for a wall-clock budget on 2 cores, then scored on the
# hash split's whole test part (7,005 pairs) with greedy decoding and beam 4.
#   bench/seq2seq-bleu-budget.sh OUT [STEPS=6000] [BUDGET_MINUTES=60]
# Trains STEPS steps (the cosine schedule's length) with a snapshot every 500; the run is stopped at
# BUDGET_MINUTES if it has not ended, and the newest snapshot written within the budget is scored
# (and the final model too, if training ended in time). Data: www.manythings.org/anki and tatoeba.org
# (CC BY 2.0): credit them wherever a model trained here is published.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
jar="${TROUPE_JAR:-$root/ops/target/troupe.jar}"
out=${1:?usage: bench/seq2seq-bleu-budget.sh OUT [STEPS] [BUDGET_MINUTES]}
steps=${2:-6000}
budget=${3:-60}
data_dir=${DATA:-$root/../shared/data/parallel-eng-fra}
mkdir -p "$out"
if [[ ! -f "$out/pairs/manifest.json" ]]; then
  java -jar "$jar" prepare --pairs "$data_dir"/fra.part{1,2,3}.txt --split hash-en:90/5/5 --vocab-size 8000 \
    --out "$out/pairs" --force
fi
start=$(date +%s)
echo "train start $(date -u +%T), load $(cut -d' ' -f1-3 /proc/loadavg)" | tee "$out/times.txt"
java -jar "$jar" train-seq2seq --data "$out/pairs" --out "$out/model" --force --encoder-layers 3 --decoder-layers 3 \
  --n-embd 256 --n-head 4 --max-len 64 --steps "$steps" --batch-size 64 --lr 7e-4 --warmup 200 --eval-interval 500 \
  --val-batches 10 --snapshots --step-times --threads 2 > "$out/train.log" 2> "$out/train.err" &
pid=$!
deadline=$((start + budget * 60))
while kill -0 "$pid" 2>/dev/null && (( $(date +%s) < deadline )); do sleep 5; done
if kill -0 "$pid" 2>/dev/null; then
  kill "$pid"; wait "$pid" || true
  echo "stopped at the ${budget}-minute budget, $(date -u +%T)" | tee -a "$out/times.txt"
else
  wait "$pid"
  echo "train end $(date -u +%T), $(( ($(date +%s) - start) / 60 )) min" | tee -a "$out/times.txt"
fi
grep -v '^step-time' "$out/train.err" | tee -a "$out/times.txt"
# The newest snapshot written within the budget (and the final model, if it was written).
last=""
for s in $(ls -d "$out/model/snapshots"/step-* 2>/dev/null | sort -t- -k2 -n); do
  (( $(stat -c %Y "$s/seq2seq.json") <= deadline )) && last=$s
done
models=("$last")
[[ -f "$out/model/seq2seq.json" ]] && models+=("$out/model")
for m in "${models[@]}"; do
  [[ -n "$m" ]] || continue
  for beam in 1 4; do
    echo "## $m, beam $beam, $(date -u +%T), load $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out/times.txt"
    /usr/bin/time -f "%e s wall" java -jar "$jar" eval --task translate --model "$m" --data "$out/pairs" --beam "$beam" \
      --threads 2 --json 2>&1 | tee -a "$out/times.txt"
  done
done
