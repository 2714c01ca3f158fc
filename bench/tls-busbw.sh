#!/usr/bin/env bash
# The step overhead of TLS on the ring (issue 16): all-reduce bus bandwidth of plain TCP vs mutual
# TLS at N = 2 and N = 3 ring members on loopback (troupe bench allreduce, fp32, 64 MiB, median
# of 10 timed runs after 5 s of warm-up each). Interleaved A B / B A per round so that a change of
# load hits both arms alike; prints each pair's TLS/plain ratio and the median ratio per N.
#
#   bench/tls-busbw.sh [ROUNDS=3] [MIB=64]
#
# About 12 JVM runs of ~15 s each at ROUNDS=3: ~3-4 minutes on a quiet 2-core machine.
# Uses ops/target/troupe.jar (./mvnw -B -o -q -pl ops -am package -DskipTests).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
MIB=${2:-64}
JAR=ops/target/troupe.jar
[ -f "$JAR" ] || { echo "no $JAR: build it first (./mvnw -B -o -q -pl ops -am package -DskipTests)" >&2; exit 2; }
WORK=$(mktemp -d /tmp/troupe-tls-busbw.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
java -jar "$JAR" secret init "$WORK/secrets" > /dev/null
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg); $MIB MiB fp32, $ROUNDS rounds"

busbw() { # N [tls]
  local extra=()
  [ "${2:-}" = tls ] && extra=(--tls "$WORK/secrets")
  java -jar "$JAR" bench allreduce --workers "$1" --mib "$MIB" --runs 10 --json "${extra[@]}" \
    | python3 -c 'import json,sys; print([json.loads(l)["busbw_gbps"] for l in sys.stdin if l.startswith("{") and "busbw_gbps" in l][-1])'
}

declare -A ratios
for round in $(seq 1 "$ROUNDS"); do
  for n in 2 3; do
    if [ $(( round % 2 )) -eq 1 ]; then plain=$(busbw "$n"); tls=$(busbw "$n" tls)
    else tls=$(busbw "$n" tls); plain=$(busbw "$n"); fi
    ratio=$(python3 -c "print(f'{$tls / $plain:.3f}')")
    ratios[$n]="${ratios[$n]:-} $ratio"
    echo "round $round, N=$n: plain busbw $plain GB/s, TLS $tls GB/s, TLS/plain $ratio (load $(cut -d' ' -f1 /proc/loadavg))"
  done
done
for n in 2 3; do
  python3 -c "import statistics,sys; r=[float(x) for x in sys.argv[2:]]; print(f'N={sys.argv[1]}: median TLS/plain busbw {statistics.median(r):.3f} over {len(r)} pairs')" "$n" ${ratios[$n]}
done
