#!/usr/bin/env bash
# Troupe's single-stream KV-cache decode (troupe bench decode) beside a minimal PyTorch KV-cache loop
# (bench/pytorch_kv_decode.py) of the same shape, threads and context, interleaved A B A B so the
# shared machine's load falls on both alike. Random weights. Prints one JSON line per run, with the
# load average before it.
#   usage: bench/kv-decode-vs-pytorch.sh CONFIG CONTEXT TOKENS ROUNDS [THREADS]   e.g. gpt2 256 16 3 2
set -euo pipefail
config=$1 context=$2 tokens=$3 rounds=$4 threads=${5:-2}
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
jar="${TROUPE_JAR:-$root/ops/target/troupe.jar}"
for ((r = 1; r <= rounds; r++)); do
  echo "# round $r troupe, load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%H:%M:%S)"
  java ${TROUPE_JAVA_OPTS:-} -jar "$jar" bench decode --config "$config" --context "$context" --tokens "$tokens" \
    --uncached-tokens 1 --threads "$threads" --json
  echo "# round $r pytorch, load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%H:%M:%S)"
  OMP_NUM_THREADS=$threads LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp /usr/bin/python3 \
    "$root/bench/pytorch_kv_decode.py" --config "$config" --context "$context" --tokens "$tokens" --threads "$threads"
done
