#!/usr/bin/env bash
# Issue 18 item 4: trains the shakespeare-char-small preset for 300 steps in fp32 and in fp16
# (same seed, same data), evaluating every 50 steps, and prints the eval losses side by side with
# the relative difference and each run's mean step time.
#   bench/precision-compare.sh [DATA] [OUT]   (defaults: ../shared/data/tinyshakespeare/input.txt, /tmp/precision-compare)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
data="${1:-$root/../shared/data/tinyshakespeare/input.txt}"
out="${2:-/tmp/precision-compare}"
steps="${STEPS:-300}"
jar="$root/ops/target/troupe.jar"
mkdir -p "$(dirname "$out")"
for p in fp32 fp16; do
  java -jar "$jar" train --data "$data" --preset shakespeare-char-small --steps "$steps" --seed 1337 \
    --precision "$p" --out "$out/$p" --force --threads "${THREADS:-2}" --json eval_interval=50 log_interval=1 >"$out.$p.jsonl" 2>"$out.$p.err"
done
python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
def evals(p):
    rows = []
    for line in open(f"{out}.{p}.jsonl"):
        try:
            r = json.loads(line)
        except ValueError:
            continue
        if r.get("event") == "eval":
            rows.append(r)
    return rows
def steps(p):
    return [json.loads(l) for l in open(f"{out}/{p}/metrics.jsonl") if json.loads(l)["step"] > 0]
a, b = evals("fp32"), evals("fp16")
print("step  train_fp32  train_fp16  rel_diff   val_fp32  val_fp16  rel_diff")
worst = 0
for x, y in zip(a, b):
    assert x["step"] == y["step"]
    d1 = abs(y["train_loss"] - x["train_loss"]) / x["train_loss"]
    d2 = abs(y["val_loss"] - x["val_loss"]) / x["val_loss"]
    worst = max(worst, d1)
    print(f"{x['step']:4d}  {x['train_loss']:10.4f}  {y['train_loss']:10.4f}  {d1:8.4%}  {x['val_loss']:8.4f}  {y['val_loss']:8.4f}  {d2:8.4%}")
def mean_ms(rows):
    t = [1000 * 12 * 64 / r["tokens_per_s"] for r in rows]
    return sum(t) / len(t)
m32, m16 = mean_ms(steps("fp32")), mean_ms(steps("fp16"))
print(f"worst relative difference of the eval train loss: {worst:.4%}")
print(f"mean step: fp32 {m32:.1f} ms, fp16 {m16:.1f} ms, ratio {m16 / m32:.2f}")
s = json.load(open(f"{out}/fp16/summary.json"))
print("fp16 summary.json: precision", s.get("precision"), "loss_scale", s.get("loss_scale"),
      "loss_scale_overflows", s.get("loss_scale_overflows"), "steps_skipped", s.get("steps_skipped"))
PY
