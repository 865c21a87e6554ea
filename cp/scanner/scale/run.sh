#!/usr/bin/env bash
# The scanners' scale run (docs/performance.md, "Central health checking
# at scale"): a pilot with the registry's etcd, three scanners, N fake
# sidecars answering health frames (two processes, each listener on its own
# loopback address) and M simulated sidecars (octomesh mocksidecar), all
# separate processes on loopback.
#
#   cp/scanner/scale/run.sh [INSTANCES [MOCK_SIDECARS]]
#
# INSTANCES is rounded to 100 services of INSTANCES/100. Steps: start
# everything; when every instance is owned by a scanner, sample each
# scanner's checks per second and CPU; connect the simulated sidecars (each
# subscribes to one service); kill instance 0 of every service (its lease
# stays alive) and let each simulated sidecar time the UNHEALTHY update from
# the kill; kill -9 scanner s2 and time until s1 and s3 own its share;
# SIGSTOP s3 for 20s, SIGCONT it; check that only the killed instances are
# marked down. Bounded: every wait has a limit, the whole run a deadline.
set -euo pipefail

N=${1:-10000}
M=${2:-1000}
PERIOD=${PERIOD:-1s}
FALL=${FALL:-2}
LEASE_TTL=${LEASE_TTL:-5s}
DEADLINE=${DEADLINE:-1200}
OUT=${OUT:-$(mktemp -d /tmp/om-scan-scale.XXXXXX)}
BASE=${BASE:-28000}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
PER=$((N / 100))
N=$((PER * 100))
mkdir -p "$OUT"
echo "scanner scale run: $N instances (100 services of $PER), $M simulated sidecars, period $PERIOD, fall $FALL; output in $OUT"
ulimit -n "$(ulimit -Hn)"

BIN=$OUT/octomesh
FAKES=$OUT/fakesidecars
(cd "$ROOT" && go build -o "$BIN" ./cmd/octomesh && go build -o "$FAKES" ./cp/scanner/scale/fakesidecars)

ETCD=127.0.0.1:$((BASE + 379))
XDS=127.0.0.1:$((BASE + 10))
HTTP=127.0.0.1:$((BASE + 11))
PIDS=()
declare -A PID
cleanup() {
	for p in "${PIDS[@]}"; do kill -CONT "$p" 2>/dev/null || true; kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
}
trap cleanup EXIT
START=$(date +%s)
left() { echo $((DEADLINE - ($(date +%s) - START))); }
start() { # name, binary, args...
	local name=$1 bin=$2
	shift 2
	"$bin" "$@" >>"$OUT/$name.log" 2>&1 &
	PIDS+=($!)
	PID[$name]=$!
}
await_http() {
	for _ in $(seq 1 600); do curl -fsS "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done
	echo "no answer from $1" >&2
	exit 1
}
stat_of() { # http addr, name
	local v
	v=$(curl -fsS --max-time 2 "http://$1/stats" 2>/dev/null | awk -v n="$2" '$1 == n {print $2}') || true
	echo "${v:-0}"
}
scanner_http() { echo "127.0.0.1:$((BASE + 30 + $1))"; }
sum_stat() { # stat, scanner numbers...
	local st=$1 s=0
	shift
	for k in "$@"; do s=$((s + $(stat_of "$(scanner_http "$k")" "$st"))); done
	echo $s
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
wait_for() { # what, limit seconds, command...
	local what=$1 limit=$2 t0
	shift 2
	t0=$(date +%s%N)
	while ! "$@"; do
		[ $(($(date +%s%N) - t0)) -lt $((limit * 1000000000)) ] || { echo "timed out waiting for $what" >&2; return 1; }
		[ "$(left)" -gt 0 ] || { echo "deadline" >&2; exit 1; }
		sleep 0.1
	done
	echo $((($(date +%s%N) - t0) / 1000000))
}

start pilot "$BIN" pilot --data-dir "$OUT/etcd" --etcd-client-address "$ETCD" --xds-address "$XDS" --http-address "$HTTP" --log-level warn
await_http "http://$HTTP/healthz"
for k in 1 2 3; do
	start "s$k" "$BIN" scanner --id "s$k" --etcd-endpoints "$ETCD" --http-address "$(scanner_http $k)" --period "$PERIOD" --fall "$FALL" \
		--lease-ttl "$LEASE_TTL" --log-level warn
done
for k in 1 2 3; do await_http "http://$(scanner_http $k)/healthz"; done
start fakes0 "$FAKES" --registry "$HTTP" --first-service 0 --services 50 --per-service "$PER" --kill "$OUT/kill"
start fakes1 "$FAKES" --registry "$HTTP" --first-service 50 --services 50 --per-service "$PER" --kill "$OUT/kill"

owned_all() { [ "$(sum_stat scanner.owned 1 2 3)" -ge "$N" ]; }
echo "every instance owned after $(wait_for "every instance owned" 600 owned_all) ms"
sleep 5

# Steady state: checks per second and CPU per scanner over 20s.
HZ=$(getconf CLK_TCK)
WINDOW=20
declare -A C0 T0
for k in 1 2 3; do C0[$k]=$(stat_of "$(scanner_http $k)" scanner.checks); T0[$k]=$(cpu_ticks "${PID[s$k]}"); done
F0=$(($(cpu_ticks "${PID[fakes0]}") + $(cpu_ticks "${PID[fakes1]}")))
sleep $WINDOW
{
	echo "# steady state, $N instances, period $PERIOD, over ${WINDOW}s"
	printf "%-8s %8s %12s %12s %10s %10s %12s\n" scanner owned checks/s failures cpu%core rss_MiB check_p99_us
	for k in 1 2 3; do
		a=$(scanner_http $k)
		c=$(stat_of "$a" scanner.checks)
		t=$(cpu_ticks "${PID[s$k]}")
		printf "%-8s %8s %12s %12s %10s %10s %12s\n" "s$k" "$(stat_of "$a" scanner.owned)" $(((c - C0[$k]) / WINDOW)) "$(stat_of "$a" scanner.failures)" \
			$(((t - T0[$k]) * 100 / HZ / WINDOW)) $(($(awk '/^VmRSS/ {print $2}' "/proc/${PID[s$k]}/status") / 1024)) "$(stat_of "$a" scanner.check_time.p99_us)"
	done
	echo "fake sidecars (both processes): $((($(cpu_ticks "${PID[fakes0]}") + $(cpu_ticks "${PID[fakes1]}") - F0) * 100 / HZ / WINDOW))% of a core"
	echo "marked down: $(sum_stat scanner.down 1 2 3)"
} | tee "$OUT/steady.txt"

# The simulated sidecars.
start mock "$BIN" mocksidecar --script "$HERE/sidecars.yaml" --count "$M" --pilot "$XDS" --registry "$HTTP" --ramp 200 \
	--var "dir=$OUT" --var "per=$PER" --timeout "${DEADLINE}s" --json "$OUT/mock.json"
sessions_all() {
	kill -0 "${PID[mock]}" 2>/dev/null || { echo "the simulated sidecars exited: $(tail -n 3 "$OUT/mock.log")" >&2; exit 1; }
	[ "$(stat_of "$HTTP" pilot.sessions)" -ge "$M" ]
}
t=$(wait_for sessions 600 sessions_all) || exit 1
echo "all $M sessions open after $t ms"
sleep 10

# Kill instance 0 of every service: the fake sidecar closes (its lease lives).
date +%s%N >"$OUT/kill.tmp"
mv "$OUT/kill.tmp" "$OUT/kill"
echo "killed 100 sidecars at $(cat "$OUT/kill")"
marked_100() { [ "$(sum_stat scanner.down 1 2 3)" -ge 100 ]; }
echo "all 100 marked down in etcd after $(wait_for "100 marks" 120 marked_100) ms (polled)"
sleep 5
echo "marked down now: $(sum_stat scanner.down 1 2 3); confirms $(sum_stat scanner.confirms 1 2 3), refuted $(sum_stat scanner.refuted 1 2 3)" | tee -a "$OUT/steady.txt"

# kill -9 of s2: its share goes to s1 and s3 when its lease runs out.
before=$(stat_of "$(scanner_http 2)" scanner.owned)
KILL_NS=$(date +%s%N)
kill -9 "${PID[s2]}"
owned_13() { [ "$(sum_stat scanner.owned 1 3)" -ge "$N" ]; }
echo "s2 (owning $before) killed; s1 and s3 own everything after $(wait_for takeover 120 owned_13) ms (lease TTL $LEASE_TTL)" | tee -a "$OUT/steady.txt"
sleep 10
echo "after the takeover: marked down $(sum_stat scanner.down 1 3) (want 100); s1+s3 marked $(sum_stat scanner.marked 1 3), refuted $(sum_stat scanner.refuted 1 3), unconfirmed $(sum_stat scanner.unconfirmed 1 3)" | tee -a "$OUT/steady.txt"

# SIGSTOP of s3 for 20s, then SIGCONT.
m0=$(sum_stat scanner.marked 1 3)
kill -STOP "${PID[s3]}"
echo "s3 stopped (SIGSTOP)"
sleep 20
kill -CONT "${PID[s3]}"
echo "s3 continued"
sleep 20
{
	echo "after s3's freeze: marked down $(sum_stat scanner.down 1 3) (want 100); new marks $(($(sum_stat scanner.marked 1 3) - m0)); refuted $(sum_stat scanner.refuted 1 3), unconfirmed $(sum_stat scanner.unconfirmed 1 3)"
	for k in 1 3; do echo "s$k: owned $(stat_of "$(scanner_http $k)" scanner.owned), failures $(stat_of "$(scanner_http $k)" scanner.failures)"; done
	echo "s3 log: $(grep -c "lost the lease" "$OUT/s3.log" || true) lease losses"
} | tee -a "$OUT/steady.txt"

touch "$OUT/stop"
fail=0
wait "${PID[mock]}" || fail=1
tail -n 30 "$OUT/mock.log" | tee "$OUT/summary.txt"
echo "output in $OUT; failed: $fail"
exit $fail
