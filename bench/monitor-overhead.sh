#!/usr/bin/env bash
# Issue 20's goal "monitoring adds < 2% to serve latency (p50), measured side by side", in one server:
# ROUNDS interleaved pairs (on-off, off-on, ...) of one streamed request each, with serve's drift monitor
# on and off (the monitor drains after every "on" request, so its deferred work never lands in an "off"
# one), on a random-weight model of the "small" shape. Prints each side's median p50, the paired median
# on/off difference with its 95% bootstrap interval (it "resolves a 2% difference" when narrower than 4
# points), the monitor's direct cost on the request path (from /metrics) and its thread's share of the CPU.
# Run it on a quiet machine: the interval is only as tight as the machine is steady. ./troupe builds
# ops/target/troupe.jar first if it is missing (TROUPE_REBUILD=1 after changing the sources).
#   usage: bench/monitor-overhead.sh [ROUNDS] [THREADS] [TOKENS]     defaults 1500 2 32
set -euo pipefail
rounds=${1:-1500} threads=${2:-2} tokens=${3:-32}
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
echo "# monitor overhead: $rounds rounds, $tokens tokens, $threads threads; load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ)"
"$root/troupe" bench serve --config small --clients 1 --requests 1 --tokens "$tokens" \
  --threads "$threads" --compare-monitor "$rounds" | grep -v '^round '
echo "# done: load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ)"
