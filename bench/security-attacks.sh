#!/usr/bin/env bash
# The attack suite of issue 16 (SecurityIT): a --tls job of a coordinator and 3 worker processes is
# attacked while it trains (every port, a flood, rogue and misconfigured workers, SIGSTOP, a leave
# and a join), its coordinator is SIGKILLed and resumed past a forged checkpoint, and its final val
# loss is compared with an undisturbed run of the same length. Prints the table attack -> outcome
# and each phase's duration and load; the logs, events and summaries stay in OUT.
#
#   bench/security-attacks.sh OUT [PHASES]      # PHASES: e.g. rogues,leave (default: all attacks)
#
# About 10-15 minutes on a quiet 2-core machine (the attacked run ~5 min, the undisturbed run as
# many steps again), 25-40 minutes under a load of 10-30. Builds with the reactor, offline.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:?usage: bench/security-attacks.sh OUT [PHASES]}
PHASES=${2:-}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
echo "start $(date -u +%FT%TZ), load $(cut -d' ' -f1-3 /proc/loadavg), commit $(git rev-parse --short HEAD)" | tee "$OUT/run.txt"
status=0
./mvnw -B -o -q -pl ops -am verify -Dit.test=SecurityIT -Dtroupe.attacks=true \
  ${PHASES:+-Dtroupe.attacks.phases=$PHASES} -Dtroupe.attacks.keep="$OUT" \
  -Dtest=NONE -Dsurefire.failIfNoSpecifiedTests=false -Dfailsafe.failIfNoSpecifiedTests=false \
  > "$OUT/maven.log" 2>&1 || status=$?
echo "end $(date -u +%FT%TZ), load $(cut -d' ' -f1-3 /proc/loadavg), exit $status" | tee -a "$OUT/run.txt"
[ -f "$OUT/table.md" ] && cat "$OUT/table.md"
[ -f "$OUT/phases.txt" ] && cat "$OUT/phases.txt"
[ "$status" = 0 ] || { echo "SecurityIT failed: see $OUT/maven.log (its diagnosis names the phase)"; tail -40 "$OUT/maven.log"; }
exit "$status"
