#!/usr/bin/env bash
# One pilot under N simulated sidecars (docs/performance.md, "Control
# plane at scale"): memory per session, the heap profile's top entries, and
# the latency of one endpoint change per stage. A smaller, bounded relative
# of run.sh: no Meta, no sharding, no failover.
#
#   cp/mocksidecar/scale/one-pilot.sh [SIDECARS [MOCK_PROCESSES]]   # default 15000 in 3
#
# The pilot runs standalone with its embedded etcd (the registry) and
# --pprof; a driver registers two instances of 66 services; the sidecars
# (60 apps, each sidecar subscribed to common, one svc-a and one svc-b)
# connect straight to it. When every session is open: RSS, RSS per session
# and the heap profile (/debug/pprof/heap). Then the driver changes one
# endpoint of common (every sidecar's), stamped with the time, and the run
# reports, from the pilot's /stats and the sidecars' reports:
#   stamp -> Data Cache          pilot.last_change_unix_us - the stamp
#   Data Cache -> stream          pilot.push_delay
#   stream -> ACK                 pilot.ack_delay
#   Data Cache -> ACK             pilot.push_acked
#   stamp -> received by sidecar  the sidecars' "push" samples
# with the CPU the pilot and each mock process used from the change to the
# last ACK. Then (RECONNECT=1, the default) the pilot is killed (kill -9)
# and started again on the same addresses, and the run reports how long
# until every sidecar has its session back, the reconnections per second
# after the pilot serves again, and the CPU per reconnection.
#
# MOCK_PERF=1 records mock0's CPU (perf record -g) from just before the
# change to the last ACK, in $OUT/mock0.perf; MOCK_PERF=all records every
# process on every CPU (perf record -a) over the same span, in $OUT/all.perf.
#
# TRANSPORT (default lean) is the mock sidecars' transport (octomesh
# mocksidecar --transport): lean or grpc, or a list cycled over the mock
# processes ("grpc lean" with 2 processes: one of each, measured in the
# same run).
# Bounded: every wait has a limit, the whole run a deadline. Wrap it in
# flock /tmp/octomesh-heavy.lock.
set -euo pipefail

N=${1:-15000}
PROCS=${2:-3}
RAMP=${RAMP:-500}          # sidecars started per second, per mock process
DEADLINE=${DEADLINE:-900}  # seconds for the whole run
OUT=${OUT:-$(mktemp -d /tmp/om-one.XXXXXX)}
BASE=${BASE:-28000}
RECONNECT=${RECONNECT:-1}
# The mock processes' garbage collector (docs/performance.md, "Cheaper
# simulated sidecars"): each holds thousands of sidecars' state, so a GC
# cycle marks hundreds of MiB, and one that falls in the push is charged to
# it. By default a mock process collects only when its heap reaches
# MOCK_GOMEMLIMIT (GOGC=off): 10,000 sidecars hold about 300 MiB. Go's
# defaults: MOCK_GOGC=100 MOCK_GOMEMLIMIT=off.
MOCK_GOGC=${MOCK_GOGC:-off}
MOCK_GOMEMLIMIT=${MOCK_GOMEMLIMIT:-1536MiB}
read -r -a TRANSPORTS <<<"${TRANSPORT:-lean}"
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
mkdir -p "$OUT"
echo "one-pilot run: $N sidecars in $PROCS processes, output in $OUT"
ulimit -n "$(ulimit -Hn)"

BIN=${OCTOMESH_BIN:-$OUT/octomesh}
if [ -z "${OCTOMESH_BIN:-}" ]; then (cd "$ROOT" && go build -o "$BIN" ./cmd/octomesh); fi

XDS=127.0.0.1:$((BASE + 10))
HTTP=127.0.0.1:$((BASE + 11))
PIDS=()
declare -A PID
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
}
trap cleanup EXIT
START=$(date +%s)
left() { echo $((DEADLINE - ($(date +%s) - START))); }
start() { # name, args...
	local name=$1
	shift
	"$BIN" "$@" >>"$OUT/$name.log" 2>&1 &
	PIDS+=($!)
	PID[$name]=$!
}
stat() { curl -fsS "http://$HTTP/stats" 2>/dev/null | awk -v n="$1" '$1 == n {print $2}'; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
mocks_ticks() { local t=0 k; for k in $(seq 0 $((PROCS - 1))); do t=$((t + $(cpu_ticks "${PID[mock$k]}"))); done; echo $t; }
HZ=$(getconf CLK_TCK)

PPROF=--pprof
"$BIN" pilot --help 2>&1 | grep -c -- '-pprof' >/dev/null || PPROF= # an older binary, for a "before" run
HAS_TRANSPORT=1
"$BIN" mocksidecar --help 2>&1 | grep -c -- '-transport' >/dev/null || HAS_TRANSPORT= # an older binary: gRPC-go only
transport_of() { # mock process k
	local tr=${TRANSPORTS[$(($1 % ${#TRANSPORTS[@]}))]}
	[ -n "$HAS_TRANSPORT" ] || tr=grpc
	echo "$tr"
}
transport_flag() { [ -n "$HAS_TRANSPORT" ] && echo "--transport=$(transport_of "$1")"; }
start pilot pilot --data-dir "$OUT/etcd" --xds-address "$XDS" --http-address "$HTTP" --log-level warn $PPROF
for _ in $(seq 1 300); do curl -fsS "http://$HTTP/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
sleep 2
RSS0=$(rss_kb "${PID[pilot]}")

start driver mocksidecar --script "$HERE/driver.yaml" --count 1 --pilot "$XDS" --registry "$HTTP" --var "dir=$OUT" --timeout "${DEADLINE}s" --json "$OUT/driver.json"
for _ in $(seq 1 600); do [ -e "$OUT/registered" ] && break; sleep 0.1; done
[ -e "$OUT/registered" ] || { echo "the driver did not register"; exit 1; }

per=$((N / PROCS))
for k in $(seq 0 $((PROCS - 1))); do
	GOGC=$MOCK_GOGC GOMEMLIMIT=$MOCK_GOMEMLIMIT start "mock$k" mocksidecar --script "$HERE/one-pilot.yaml" --count "$per" --first $((k * per)) --ramp "$RAMP" \
		--pilot "$XDS" --var "dir=$OUT" --timeout "${DEADLINE}s" --json "$OUT/mock$k.json" $(transport_flag "$k")
done
N=$((per * PROCS))
t0=$(date +%s)
while :; do
	s=$(stat pilot.sessions)
	a=$(stat pilot.acks)
	echo "$(($(date +%s) - t0))s: ${s:-0} sessions, ${a:-0} ACKs"
	[ "${s:-0}" -ge "$N" ] && [ "${a:-0}" = "${prev:-}" ] && break # all open, and no ACK in the last 5 s
	prev=${a:-0}
	[ "$(left)" -gt 120 ] || { echo "not all sessions open before the deadline"; exit 1; }
	sleep 5
done
sleep 10 # settled
{
	r=$(rss_kb "${PID[pilot]}")
	echo "# steady state: $N sessions on one pilot"
	echo "pilot RSS before the sidecars: $((RSS0 / 1024)) MiB; now: $((r / 1024)) MiB; per session: $(((r - RSS0) / N)) KiB"
	[ -n "$PPROF" ] && echo "goroutines: $(curl -fsS "http://$HTTP/debug/pprof/goroutine?debug=1" 2>/dev/null | head -1)"
	for k in $(seq 0 $((PROCS - 1))); do
		r=$(rss_kb "${PID[mock$k]}")
		echo "mock$k ($(transport_of "$k")) RSS $((r / 1024)) MiB: $((r / per)) KiB per simulated sidecar"
	done
} | tee "$OUT/steady.txt"
if [ -n "$PPROF" ]; then
	curl -fsS "http://$HTTP/debug/pprof/heap" -o "$OUT/heap.pprof"
	go tool pprof -sample_index=inuse_space -top "$OUT/heap.pprof" 2>/dev/null | head -25 | tee -a "$OUT/steady.txt"
fi

echo "changing one endpoint of common"
each_ticks() { local k; for k in $(seq 0 $((PROCS - 1))); do echo -n "$(cpu_ticks "${PID[mock$k]}") "; done; }
per_mock() { # ticks before, ticks after, what per: CPU of each mock process
	local -a a b
	read -r -a a <<<"$1"
	read -r -a b <<<"$2"
	local k
	for k in $(seq 0 $((PROCS - 1))); do
		echo "  mock$k ($(transport_of "$k")): $(((b[k] - a[k]) * 1000 / HZ)) ms, $(((b[k] - a[k]) * 1000000 / HZ / per)) us per sidecar $3"
	done
}
PERFPID=
if [ "${MOCK_PERF:-0}" = 1 ]; then # a CPU profile of mock0 through the push: perf report -i $OUT/mock0.perf
	perf record -F 999 -g -p "${PID[mock0]}" -o "$OUT/mock0.perf" >/dev/null 2>&1 &
	PERFPID=$!
	sleep 1
elif [ "${MOCK_PERF:-0}" = all ]; then # every process on every CPU: perf report -i $OUT/all.perf --sort comm,pid
	perf record -F 2999 -a -g -o "$OUT/all.perf" >/dev/null 2>&1 &
	PERFPID=$!
	sleep 1
fi
# PUSH_ALLOCS=1: what the pilot allocated from here to the last ACK (the
# heap profile's sampled alloc_space, before and after, each after a GC),
# in $OUT/push-allocs.txt. The GC it forces starts the push on a fresh heap.
PUSH_ALLOCS=${PUSH_ALLOCS:-0}
[ -n "$PPROF" ] || PUSH_ALLOCS=0 # an older binary: no profiles
[ "$PUSH_ALLOCS" = 0 ] || curl -fsS "http://$HTTP/debug/pprof/heap?gc=1" -o "$OUT/allocs-before.pprof"
NSTAT=$(command -v nstat || true)
[ -z "$NSTAT" ] || nstat -n # TCP segments from here (the machine's, loopback included)
P0=$(cpu_ticks "${PID[pilot]}") M0=$(mocks_ticks) E0=$(each_ticks) T0=$(date +%s%N)
touch "$OUT/change"
for _ in $(seq 1 600); do
	[ "$(stat pilot.push_acked.count)" -ge "$N" ] 2>/dev/null && break
	sleep 0.1
done
P1=$(cpu_ticks "${PID[pilot]}") M1=$(mocks_ticks) E1=$(each_ticks) T1=$(date +%s%N)
if [ -n "$PERFPID" ]; then kill -INT "$PERFPID"; wait "$PERFPID" || true; fi
if [ "$PUSH_ALLOCS" != 0 ]; then
	curl -fsS "http://$HTTP/debug/pprof/heap?gc=1" -o "$OUT/allocs-after.pprof"
	go tool pprof -sample_index=alloc_space -base "$OUT/allocs-before.pprof" -top "$OUT/allocs-after.pprof" 2>/dev/null | head -16 >"$OUT/push-allocs.txt" || true
fi
sleep 2
stamp=$(curl -fsS "http://$HTTP/debug/config?node=mock-0" | grep -o '"changed_at": *"[0-9]*"' | grep -o '[0-9]*' | head -1 || true)
{
	echo "# one endpoint change of common to $N sessions"
	last=$(stat pilot.last_change_unix_us)
	[ -n "$stamp" ] && echo "stamp -> Data Cache: $(((last * 1000 - stamp) / 1000)) us (stamp $stamp)"
	echo "CPU from the change to the last ACK ($(((T1 - T0) / 1000000)) ms, polled every 0.1 s): pilot $(((P1 - P0) * 1000 / HZ)) ms, sidecars $(((M1 - M0) * 1000 / HZ)) ms; per sidecar: pilot $(((P1 - P0) * 1000000 / HZ / N)) us, sidecar $(((M1 - M0) * 1000000 / HZ / N)) us"
	per_mock "$E0" "$E1" "and push"
	[ -z "$NSTAT" ] || nstat -z TcpOutSegs TcpExtTCPPureAcks TcpExtDelayedACKs 2>/dev/null | awk -v n="$N" '$1 ~ /^Tcp/ {printf "%s %s (%.2f per sidecar) ", $1, $2, $2 / n} END {print "from the change to the last ACK"}'
	for h in push_delay ack_delay push_acked; do
		echo "pilot.$h: count $(stat pilot.$h.count) p50 $(stat pilot.$h.p50_us)us p99 $(stat pilot.$h.p99_us)us max $(stat pilot.$h.max_us)us"
	done
} | tee -a "$OUT/steady.txt"

if [ "$RECONNECT" = 1 ]; then
	echo "kill -9 the pilot, start it again; every sidecar reconnects (backoff 0.1-2 s while it is down)"
	M0=$(mocks_ticks) E0=$(each_ticks) T0=$(date +%s%N)
	kill -9 "${PID[pilot]}"
	wait "${PID[pilot]}" 2>/dev/null || true
	start pilot pilot --data-dir "$OUT/etcd" --xds-address "$XDS" --http-address "$HTTP" --log-level warn $PPROF
	P0=$(cpu_ticks "${PID[pilot]}")
	for _ in $(seq 1 600); do curl -fsS "http://$HTTP/healthz" >/dev/null 2>&1 && break; sleep 0.05; done
	T1=$(date +%s%N) M1=$(mocks_ticks)
	back=0
	for _ in $(seq 1 3000); do
		s=$(stat pilot.sessions)
		[ "${s:-0}" -ge "$N" ] && back=1 && break
		sleep 0.05
	done
	T2=$(date +%s%N) M2=$(mocks_ticks) E2=$(each_ticks) P2=$(cpu_ticks "${PID[pilot]}")
	sleep 3
	{
		echo "# kill -9 of the pilot with $N sessions, and a restart"
		[ "$back" = 1 ] || echo "NOT ALL BACK: $(stat pilot.sessions) sessions"
		echo "pilot serving again $(((T1 - T0) / 1000000)) ms after the kill; all $N sessions back $(((T2 - T1) / 1000000)) ms later: $((N * 1000000000 / (T2 - T1 + 1))) reconnections/s"
		echo "CPU from the pilot serving to all back: pilot $(((P2 - P0) * 1000 / HZ)) ms, sidecars $(((M2 - M1) * 1000 / HZ)) ms; per reconnection: pilot $(((P2 - P0) * 1000000 / HZ / N)) us, sidecar $(((M2 - M1) * 1000000 / HZ / N)) us (while it was down: sidecars $(((M1 - M0) * 1000 / HZ)) ms)"
		per_mock "$E0" "$E2" "and reconnection, from the kill"
		echo "ACKs on the new pilot 3 s after: $(stat pilot.acks); sessions $(stat pilot.sessions)"
	} | tee -a "$OUT/steady.txt"
fi

touch "$OUT/stop"
fail=0
for k in $(seq 0 $((PROCS - 1))); do wait "${PID[mock$k]}" || fail=1; done
python3 "$HERE/merge.py" 0 0 "$OUT"/mock*.json | tee "$OUT/summary.txt"
echo "output in $OUT; failed: $fail"
exit $fail
