#!/usr/bin/env bash
# Issue 18 item 4: trains the shakespeare-char-small preset for 300 steps in fp32 and in another
# precision (OTHER, default fp16; OTHER=bf16-storage for bfloat16 storage), same seed, same data,
# evaluating every 50 steps, and prints the eval losses side by side with the relative
# difference, each run's mean step time and each run's peak RSS (/usr/bin/time -v).
#   bench/precision-compare.sh [DATA] [OUT]   (defaults: ../shared/data/tinyshakespeare/input.txt, /tmp/precision-compare)
#   env: OTHER=fp16|bf16-storage  STEPS=300  THREADS=2  NICE=19
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
data="${1:-$root/../shared/data/tinyshakespeare/input.txt}"
out="${2:-/tmp/precision-compare}"
steps="${STEPS:-300}"
other="${OTHER:-fp16}"
jar="${TROUPE_JAR:-$root/ops/target/troupe.jar}"
mkdir -p "$(dirname "$out")"
for p in fp32 "$other"; do
  echo "$(date -u +%FT%TZ) $p start, load: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
  /usr/bin/time -v -o "$out.$p.time" nice -n "${NICE:-19}" java -jar "$jar" train --data "$data" \
    --preset shakespeare-char-small --steps "$steps" --seed 1337 \
    --precision "$p" --out "$out/$p" --force --threads "${THREADS:-2}" --json eval_interval=50 log_interval=1 \
    >"$out.$p.jsonl" 2>"$out.$p.err"
  echo "$(date -u +%FT%TZ) $p done, load: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
done
python3 - "$out" "$other" <<'PY'
import json, re, sys
out, other = sys.argv[1], sys.argv[2]
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
def peak_rss_mib(p):
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", open(f"{out}.{p}.time").read())
    return int(m.group(1)) / 1024
a, b = evals("fp32"), evals(other)
print(f"step  train_fp32  train_{other}  rel_diff   val_fp32  val_{other}  rel_diff")
worst = worst_val = 0
for x, y in zip(a, b):
    assert x["step"] == y["step"]
    d1 = abs(y["train_loss"] - x["train_loss"]) / x["train_loss"]
    d2 = abs(y["val_loss"] - x["val_loss"]) / x["val_loss"]
    worst = max(worst, d1)
    worst_val = max(worst_val, d2)
    print(f"{x['step']:4d}  {x['train_loss']:10.4f}  {y['train_loss']:10.4f}  {d1:8.4%}  {x['val_loss']:8.4f}  {y['val_loss']:8.4f}  {d2:8.4%}")
def mean_ms(rows):
    t = [1000 * 12 * 64 / r["tokens_per_s"] for r in rows]
    return sum(t) / len(t)
m32, mo = mean_ms(steps("fp32")), mean_ms(steps(other))
print(f"worst relative difference of the eval train loss: {worst:.4%}, of the val loss: {worst_val:.4%}")
print(f"mean step: fp32 {m32:.1f} ms, {other} {mo:.1f} ms, ratio {mo / m32:.2f}")
print(f"peak RSS: fp32 {peak_rss_mib('fp32'):.0f} MiB, {other} {peak_rss_mib(other):.0f} MiB")
s = json.load(open(f"{out}/{other}/summary.json"))
print(f"{other} summary.json: precision", s.get("precision"), "loss_scale", s.get("loss_scale"),
      "loss_scale_overflows", s.get("loss_scale_overflows"), "steps_skipped", s.get("steps_skipped"))
PY
