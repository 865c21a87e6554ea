#!/usr/bin/env bash
# The chaos run's soak: every fault of e2e TestChaos in rounds, bounded by a
# count and a time, on sidecars built without the race detector (they must
# keep the pace). The table goes to $OCTOMESH_CHAOS_REPORT (default
# chaos-soak.md in the current directory).
#
#   e2e/chaos/soak.sh [rounds] [max-duration]     (defaults: 5 rounds, 20m)
#   ROUNDS=20 MAX=2h HOLD=10s RATE=300 e2e/chaos/soak.sh
#
# It takes /tmp/octomesh-heavy.lock (flock) so that it never overlaps
# another heavy run on a shared machine; OCTOMESH_HEAVY_LOCK_HELD=1 says
# the caller holds it already.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
rounds="${1:-${ROUNDS:-5}}"
max="${2:-${MAX:-20m}}"
hold="${HOLD:-3s}"
rate="${RATE:-200}"
report="${OCTOMESH_CHAOS_REPORT:-$PWD/chaos-soak.md}"
case "$rounds" in ''|*[!0-9]*) echo "soak.sh: rounds must be a number, not '$rounds'" >&2; exit 2;; esac
# The test's own bound: every round may take up to about 4 minutes, and
# the run stops starting rounds after $max.
timeout_min=$(( rounds * 4 + 10 ))
cd "$repo"
export OCTOMESH_CHAOS_REPORT="$report"
export OCTOMESH_RACE=0
echo "chaos soak: $rounds rounds (at most $max), faults held $hold, $rate calls/s; report in $report"
lock=(flock /tmp/octomesh-heavy.lock)
[ -n "${OCTOMESH_HEAVY_LOCK_HELD:-}" ] && lock=()
exec "${lock[@]}" go test -count=1 -run '^TestChaos$' -timeout "${timeout_min}m" -v ./e2e \
  -chaos.rounds "$rounds" -chaos.max "$max" -chaos.hold "$hold" -chaos.rate "$rate"
