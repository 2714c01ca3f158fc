#!/usr/bin/env bash
# Troupe's `train-seq2seq` beside the same model, batches and optimizer in PyTorch
# (bench/seq2seq/pytorch_seq2seq.py: torch.nn.Transformer on Debian's python3-torch with OpenBLAS),
# per-step times at each thread count, interleaved Troupe / PyTorch so the shared machine's load
# falls on both alike. Both train STEPS steps of the 3+3-layer, C=256, 4-head, max-len 64,
# batch-64 config from the same fresh start; the batch sequence is the same (checked here, shape by
# shape). The median is over the steps after SKIP in which Troupe built no new ORT session (it builds
# one per padded batch shape, once); the same steps are taken on both sides. Session builds are
# reported apart, with the mean over all steps.
#   usage: bench/seq2seq-vs-pytorch.sh [DATA] [STEPS] [SKIP] [ROUNDS] ["THREADS..."]
#   e.g.   bench/seq2seq-vs-pytorch.sh /tmp/s2s/pairs 40 10 2 "1 2"
# Logs go to $OUT (default a new temp dir); one summary line per run and a table at the end.
set -euo pipefail
data=${1:-/tmp/s2s/pairs} steps=${2:-40} skip=${3:-10} rounds=${4:-2} threads_list=${5:-"1 2"}
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
jar="${TROUPE_JAR:-$root/ops/target/troupe.jar}"
out="${OUT:-$(mktemp -d /tmp/seq2seq-vs-pytorch.XXXXXX)}"
mkdir -p "$out"
echo "# logs in $out; jar $jar; data $data; $steps steps, skip $skip, $rounds rounds, threads $threads_list"
for ((r = 1; r <= rounds; r++)); do
  for t in $threads_list; do
    echo "# round $r threads $t troupe, load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%H:%M:%S)"
    java ${TROUPE_JAVA_OPTS:-} -jar "$jar" train-seq2seq --data "$data" --out "$out/model-$r-$t" --force \
      --encoder-layers 3 --decoder-layers 3 --n-embd 256 --n-head 4 --max-len 64 --batch-size 64 \
      --steps "$steps" --eval-interval "$steps" --val-batches 1 --step-times --threads "$t" \
      > "$out/troupe-$r-$t.out" 2> "$out/troupe-$r-$t.log"
    echo "# round $r threads $t pytorch, load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%H:%M:%S)"
    OMP_NUM_THREADS=$t LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp /usr/bin/python3 \
      "$root/bench/seq2seq/pytorch_seq2seq.py" --data "$data" --encoder-layers 3 --decoder-layers 3 \
      --n-embd 256 --n-head 4 --max-len 64 --batch-size 64 --steps "$steps" --skip "$skip" --val-batches 1 \
      --threads "$t" > "$out/pytorch-$r-$t.json"
  done
done
echo "# done, load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%H:%M:%S)"
/usr/bin/python3 - "$out" "$rounds" "$skip" $threads_list <<'EOF'
import json, re, statistics, sys
out, rounds, skip, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), [int(t) for t in sys.argv[4:]]
line = re.compile(r"step-time (\d+): ([\d.]+) ms, batch (\S+?)(, new session)?$")
rows = []
for r in range(1, rounds + 1):
    for t in threads:
        troupe = [line.match(l.strip()) for l in open(f"{out}/troupe-{r}-{t}.log")]
        troupe = [m for m in troupe if m]
        torch = json.load(open(f"{out}/pytorch-{r}-{t}.json"))
        shapes = [m.group(3) for m in troupe]
        if shapes != torch["shapes"]:
            first = next(i for i, (a, b) in enumerate(zip(shapes, torch["shapes"])) if a != b) \
                if any(a != b for a, b in zip(shapes, torch["shapes"])) else min(len(shapes), len(torch["shapes"]))
            sys.exit(f"round {r} threads {t}: the batch shapes differ from step {first + 1}; not the same batches")
        keep = [i for i, m in enumerate(troupe) if i >= skip and not m.group(4)]
        tr = statistics.median(float(troupe[i].group(2)) for i in keep)
        pt = statistics.median(torch["step_ms"][i] for i in keep)
        built = [float(m.group(2)) for m in troupe if m.group(4)]
        row = {"round": r, "threads": t, "steps_in_median": len(keep),
               "troupe_median_ms": round(tr, 1), "pytorch_median_ms": round(pt, 1),
               "speedup": round(pt / tr, 2),
               "troupe_mean_ms_all": round(statistics.fmean(float(m.group(2)) for m in troupe), 1),
               "pytorch_mean_ms_all": torch["mean_ms_per_step_all"],
               "troupe_session_steps": len(built), "troupe_session_step_ms_sum": round(sum(built))}
        rows.append(row)
        print(json.dumps(row))
print("threads  round  steps  troupe ms/step  pytorch ms/step  pytorch/troupe")
for x in rows:
    print(f"{x['threads']:7d}  {x['round']:5d}  {x['steps_in_median']:5d}  {x['troupe_median_ms']:14.1f}"
          f"  {x['pytorch_median_ms']:15.1f}  {x['speedup']:14.2f}")
EOF
