#!/usr/bin/env bash
# Issue 18 item 4, bf16-storage: peak RSS and step time of fp32 and bf16-storage on a config whose
# saved activations dominate the process (shakespeare-char-small at batch_size 24, block_size 256:
# the attention tensors are 24 x 4 x 256 x 256), ROUNDS rounds of both, alternated so the shared
# machine's load falls on both alike. Prints one line per run: precision, peak RSS, mean step ms.
# ORT's arena is off (ort_arena=false) and the Java heap capped (-Xmx512m) by default: with the
# arena on, peak RSS moved by 200 MiB between runs of the same precision (the arena grows in
# large chunks), which hides what the activations take (docs/BENCHMARKS.md, "Memory"). glibc
# serves blocks of 128 KiB and more with mmap (MALLOC_MMAP_THRESHOLD_), so a freed tensor leaves
# the RSS at once and the peak is that of live memory, not of the heap's fragmentation.
#   bench/bf16-memory.sh [DATA] [OUT]   env: STEPS=20 ROUNDS=3 THREADS=1 NICE=19 BATCH=24 BLOCK=256 ARENA=false XMX=256m
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
data="${1:-$root/../shared/data/tinyshakespeare/input.txt}"
out="${2:-/tmp/bf16-memory}"
steps="${STEPS:-20}"; batch="${BATCH:-24}"; block="${BLOCK:-256}"
jar="${TROUPE_JAR:-$root/ops/target/troupe.jar}"
mkdir -p "$out"
export MALLOC_MMAP_THRESHOLD_="${MALLOC_MMAP_THRESHOLD_:-131072}"
for round in $(seq "${ROUNDS:-3}"); do
  for p in fp32 bf16-storage; do
    run="$out/$p.$round"
    load="$(cut -d' ' -f1-3 /proc/loadavg)"
    /usr/bin/time -v -o "$run.time" nice -n "${NICE:-19}" java -Xmx"${XMX:-256m}" -jar "$jar" train --data "$data" \
      --preset shakespeare-char-small --steps "$steps" --seed 1337 --precision "$p" --out "$run" --force \
      --threads "${THREADS:-1}" --json batch_size="$batch" block_size="$block" eval_interval=100000 eval_iters=1 \
      ort_arena="${ARENA:-false}" log_interval=1 >"$run.jsonl" 2>"$run.err"
    python3 - "$run" "$p" "$batch" "$block" "$load" <<'PY'
import json, re, sys
run, p, batch, block, load = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", open(run + ".time").read()).group(1)) / 1024
rows = [json.loads(l) for l in open(run + "/metrics.jsonl") if json.loads(l)["step"] > 1]
ms = sum(1000 * batch * block / r["tokens_per_s"] for r in rows) / len(rows)
print(f"{p:13s} peak RSS {rss:7.0f} MiB  mean step {ms:7.1f} ms (steps 2..)  load before: {load}")
PY
  done
done
