#!/usr/bin/env bash
# Issue 12's LoRA step-time goal: full fine-tuning and LoRA r=8 (attn,proj) of the same source on the
# same labelled data, --task classify, interleaved full, LoRA, full, LoRA ... so the machine's load
# falls on both alike. Each run trains STEPS steps (no early stopping, one 90/10 split) and its
# summary.json holds the mean step_ms; prints one line per run, then the mean of each arm and the
# LoRA/full ratio. About 2 x ROUNDS x (STEPS x 0.1-0.3 s + 10 s start) on a quiet machine: with the
# defaults (4 rounds, 100 steps) 4-5 minutes.
#   usage: bench/finetune-lora-step.sh SOURCE LABELLED [ROUNDS] [STEPS] [THREADS]
#   e.g.   bench/finetune-lora-step.sh runs/pre-bpe/checkpoints/ckpt-3000.bin \
#              ../shared/data/sentiment-labelled-sentences/all_labelled.txt 4 100 1
set -euo pipefail
source=$1 data=$2 rounds=${3:-4} steps=${4:-100} threads=${5:-1}
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
jar="${TROUPE_JAR:-$root/ops/target/troupe.jar}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
full=() lora=()
for ((r = 1; r <= rounds; r++)); do
  for arm in full lora; do
    extra=()
    [[ $arm == lora ]] && extra=(--lora-rank 8)
    java ${TROUPE_JAVA_OPTS:-} -jar "$jar" finetune --from "$source" --task classify --data "$data" \
      --out "$work/$arm-$r" --steps "$steps" --threads "$threads" dropout=0.1 eval_interval=1000 "${extra[@]}" >/dev/null
    ms=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['step_ms'])" "$work/$arm-$r/summary.json")
    echo "round $r $arm step_ms $ms load $(cut -d' ' -f1-3 /proc/loadavg) $(date -u +%H:%M:%S)"
    if [[ $arm == full ]]; then full+=("$ms"); else lora+=("$ms"); fi
  done
done
python3 - "${full[*]}" "${lora[*]}" <<'PY'
import sys
full = [float(x) for x in sys.argv[1].split()]
lora = [float(x) for x in sys.argv[2].split()]
f, l = sum(full) / len(full), sum(lora) / len(lora)
pairs = [b / a for a, b in zip(full, lora)]
print(f"full {f:.1f} ms/step, LoRA r=8 {l:.1f} ms/step, LoRA/full {l / f:.3f} "
      f"(per round {' '.join(f'{p:.3f}' for p in pairs)})")
PY
