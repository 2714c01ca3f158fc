#!/usr/bin/env bash
# The record for issue 15's two open goals, on a quiet machine, one after the other:
#  1. bench/dashboard-cost.sh: what --dashboard costs a training step (PAIRS alternating pairs of
#     STEPS-step runs with the page's stream open, a 95% bootstrap interval on the paired change,
#     and the dashboard threads' + hand-off share of the training process's CPU);
#  2. bench/coordinator-memory.sh: a coordinator started with the launcher's defaults, /metrics
#     scraped once a second for SECONDS; RSS, heap after GC, code cache and metaspace, with slopes
#     over the whole run and after the warm-up (WARMUP, default 180 s).
# Usage: bench/issue15-final.sh [OUT=/tmp/troupe-issue15] [PAIRS=12] [STEPS=600] [SECONDS=600]
# Duration: about 11 + 11 minutes on a quiet 2-core machine (start it, then leave the machine alone).
# Output: OUT/dashboard-cost.txt and OUT/coordinator-memory.txt (and each script's own files under OUT).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-/tmp/troupe-issue15}
PAIRS=${2:-12}
STEPS=${3:-600}
SECONDS_TOTAL=${4:-600}
[ -f ops/target/troupe.jar ] || { echo "issue15-final: build the jar first: ./mvnw -B -o -q -pl ops -am package -DskipTests" >&2; exit 2; }
mkdir -p "$OUT"
echo "# issue 15 record, commit $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $(date -u +%FT%TZ), load $(cut -d' ' -f1-3 /proc/loadavg)"
bench/dashboard-cost.sh "$PAIRS" "$STEPS" "$OUT/dashboard" 2>&1 | tee "$OUT/dashboard-cost.txt"
bench/coordinator-memory.sh "$SECONDS_TOTAL" "$OUT/coordmem" 2>&1 | tee "$OUT/coordinator-memory.txt"
echo "# finished $(date -u +%FT%TZ), load $(cut -d' ' -f1-3 /proc/loadavg); results in $OUT/dashboard-cost.txt and $OUT/coordinator-memory.txt"
