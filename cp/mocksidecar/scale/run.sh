#!/usr/bin/env bash
# The control plane's scale run (docs/performance.md, "Control plane at
# scale"): the registry's etcd, Meta, 4 pilots and the simulated sidecars
# as separate processes on this machine, all on loopback.
#
#   cp/mocksidecar/scale/run.sh [SIDECARS [MOCK_PROCESSES]]
#
# Steps: start etcd (embedded in a standalone `octomesh pilot` that no
# sidecar uses), Meta and pilots p1-p4; register the services; start the
# sidecars (ramped); when every session is open, sample memory and
# watches; change one endpoint of "common" (every sidecar's) and let the
# sidecars time its arrival; kill -9 p2 and time until its sidecars are
# ACKed by their successors, sampling CPU meanwhile; start p2 again and
# time until its sidecars are back; stop and merge the reports. Bounded: every wait has a limit, the whole run a deadline.
set -euo pipefail

N=${1:-50000}
PROCS=${2:-5}
RAMP=${RAMP:-300}          # sidecars started per second, per mock process
LEASE_TTL=${LEASE_TTL:-5s} # the pilots' --shard-lease-ttl
DEADLINE=${DEADLINE:-2400} # seconds for the whole run
OUT=${OUT:-$(mktemp -d /tmp/om-scale.XXXXXX)}
BASE=${BASE:-27000}
MOCK_LOG_LEVEL=${MOCK_LOG_LEVEL:-warn} # debug logs every simulated sidecar's lost stream and failed look-up
TRANSPORT=${TRANSPORT:-}   # the mock sidecars' --transport (lean, the default, or grpc); empty: the binary's default
# The mock processes' garbage collector (docs/performance.md, "Cheaper
# simulated sidecars"): each holds thousands of sidecars' state, so a GC
# cycle marks hundreds of MiB, and one that falls in the push is charged to
# it. By default a mock process collects only when its heap reaches
# MOCK_GOMEMLIMIT (GOGC=off): 10,000 sidecars hold about 300 MiB. Go's
# defaults: MOCK_GOGC=100 MOCK_GOMEMLIMIT=off.
MOCK_GOGC=${MOCK_GOGC:-off}
MOCK_GOMAXPROCS=${MOCK_GOMAXPROCS:-} # empty: Go's default (the CPUs)
# MOCK_NICE: the mock processes' nice value (empty: as the script's). 19
# gives the control plane the CPU first, so the pilots' share of a push
# shows as it would with the simulated sidecars on hosts of their own.
MOCK_NICE=${MOCK_NICE:-}
MOCK_GOMEMLIMIT=${MOCK_GOMEMLIMIT:-1536MiB}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
mkdir -p "$OUT"
echo "scale run: $N sidecars in $PROCS processes, output in $OUT"
ulimit -n "$(ulimit -Hn)" # 20000 here: a pilot holds one descriptor per session

BIN=${OCTOMESH_BIN:-$OUT/octomesh}
if [ -z "${OCTOMESH_BIN:-}" ]; then (cd "$ROOT" && go build -o "$BIN" ./cmd/octomesh); fi

ETCD=127.0.0.1:$((BASE + 379))
META=127.0.0.1:$((BASE + 20))
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
	${NICE:+nice -n "$NICE"} "$BIN" "$@" >>"$OUT/$name.log" 2>&1 &
	PIDS+=($!)
	PID[$name]=$!
}
await_http() { # url
	for _ in $(seq 1 300); do
		curl -fsS "$1" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "no answer from $1" >&2
	exit 1
}
pstat() { # http addr, name: the stat's value, 0 if the process does not answer
	local v
	v=$(curl -fsS "http://$1/stats" 2>/dev/null | awk -v n="$2" '$1 == n {print $2}') || true
	echo "${v:-0}"
}
overflows() { # listen queue overflows on this machine so far (SYNs dropped)
	awk '/^TcpExt:/ { if (!h) { for (i = 1; i <= NF; i++) if ($i == "ListenOverflows") c = i; h = 1 } else print $c }' /proc/net/netstat
}
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }

start etcd pilot --data-dir "$OUT/etcd" --etcd-client-address "$ETCD" --xds-address 127.0.0.1:0 --http-address 127.0.0.1:0 --log-level warn
for _ in $(seq 1 300); do curl -fsS "http://$ETCD/health" >/dev/null 2>&1 && break; sleep 0.1; done
start meta meta --etcd-endpoints "$ETCD" --http-address "$META" --log-level warn
await_http "http://$META/healthz"
for k in 1 2 3 4; do
	start "p$k" pilot --etcd-endpoints "$ETCD" --shard-id "p$k" --shard-lease-ttl "$LEASE_TTL" --xds-address "127.0.0.1:$((BASE + 30 + k))" \
		--http-address "127.0.0.1:$((BASE + 40 + k))" --log-level warn
done
for k in 1 2 3 4; do await_http "http://127.0.0.1:$((BASE + 40 + k))/healthz"; done
sleep 2
declare -A RSS0
for k in 1 2 3 4; do RSS0[p$k]=$(rss_kb "${PID[p$k]}"); done

start driver mocksidecar --script "$HERE/driver.yaml" --count 1 --meta "$META" --var "dir=$OUT" --timeout "${DEADLINE}s" --json "$OUT/driver.json"
for _ in $(seq 1 600); do [ -e "$OUT/registered" ] && break; sleep 0.1; done
[ -e "$OUT/registered" ] || { echo "the driver did not register"; exit 1; }

per=$((N / PROCS))
for k in $(seq 0 $((PROCS - 1))); do
	NICE=$MOCK_NICE GOGC=$MOCK_GOGC GOMEMLIMIT=$MOCK_GOMEMLIMIT GOMAXPROCS=$MOCK_GOMAXPROCS start "mock$k" mocksidecar --script "$HERE/sidecars.yaml" --count "$per" --first $((k * per)) --ramp "$RAMP" \
		--meta "$META" --var "dir=$OUT" --var killed=p2 --timeout "${DEADLINE}s" --json "$OUT/mock$k.json" --log-level "$MOCK_LOG_LEVEL" ${TRANSPORT:+--transport "$TRANSPORT"}
done
N=$((per * PROCS))

sessions() {
	local s=0
	for k in "$@"; do s=$((s + $(pstat "127.0.0.1:$((BASE + 40 + k))" pilot.sessions))); done
	echo $s
}
t0=$(date +%s)
OV0=$(overflows)
while :; do
	s=$(sessions 1 2 3 4)
	echo "$(($(date +%s) - t0))s: $s sessions"
	[ "$s" -ge "$N" ] && break
	[ "$(left)" -gt 300 ] || { echo "not all sessions open before the deadline"; exit 1; }
	sleep 5
done
echo "all $N sessions open after $(($(date +%s) - t0))s; listen queue overflows meanwhile: $(($(overflows) - OV0))"
sleep 15 # initial responses ACKed, memory settled

{
	echo "# steady state, $N sessions"
	printf "%-8s %10s %10s %12s %12s %14s %16s %14s %12s\n" process sessions apps svc.used watch.svc watch.routes diplomat.watches rss_MiB KiB/session
	for k in 1 2 3 4; do
		a=127.0.0.1:$((BASE + 40 + k))
		s=$(pstat $a pilot.sessions)
		r=$(rss_kb "${PID[p$k]}")
		used=$(curl -fsS "http://$a/debug/shard" | python3 -c 'import json,sys; print(len({s for v in json.load(sys.stdin)["owned"].values() for s in v}))')
		printf "%-8s %10s %10s %12s %12s %14s %16s %14s %12s\n" "p$k" "$s" "$(pstat $a shard.owned)" "$used" "$(pstat $a pilot.watches.services)" \
			"$(pstat $a pilot.watches.routes)" "$(pstat $a diplomat.watches)" $((r / 1024)) $(((r - ${RSS0[p$k]}) / (s > 0 ? s : 1)))
	done
	for p in etcd meta driver $(seq -f "mock%g" 0 $((PROCS - 1))); do
		printf "%-8s %71s %14s\n" "$p" "" $(($(rss_kb "${PID[$p]}") / 1024))
	done
	curl -fsS "http://$META/v1/assignment" | python3 -c 'import json,sys; a=json.load(sys.stdin); print("apps per pilot:", {p["id"]: p["apps"] for p in a["pilots"]}, "capacity", a["capacity"])'
} | tee "$OUT/steady.txt"

# The push's CPU by process: ticks over the 3 s after the change (the push
# takes 1-2 s), not less a "before" window: what a process does once after
# the ramp (the mock processes' idle GC, internal/idlegc; the steady-state
# sampling above) made any such window a poor idle baseline (a 10 s one
# took a quarter of the push's CPU for idle). The idle rate is given
# instead: the whole machine's busy time over the 2 s before the change
# (/proc/stat), beside its busy time over the push's 3 s (kernel threads
# such as ksoftirqd included).
push_ticks() {
	local p
	for p in etcd meta p1 p2 p3 p4 $(seq -f "mock%g" 0 $((PROCS - 1))); do printf "%s " "$(cpu_ticks "${PID[$p]}")"; done
	awk '/^cpu / {print $2 + $3 + $4 + $7 + $8}' /proc/stat
}
# PERF=all: a CPU profile of every process on every CPU (perf record -a
# -g) from 1 s before the change to 4 s after, in $OUT/push.perf; it slows
# what it records by about a tenth.
sleep 8
T0=($(push_ticks))
PERFPID=
if [ "${PERF:-0}" = all ]; then
	sleep 1
	perf record -F 2999 -a -g -o "$OUT/push.perf" -- sleep 5 >/dev/null 2>&1 &
	PERFPID=$!
	sleep 1
else
	sleep 2
fi
T1=($(push_ticks))
echo "changing one endpoint of common"
touch "$OUT/change"
sleep 3
T2=($(push_ticks))
[ -z "$PERFPID" ] || wait "$PERFPID" || true
python3 - "$(getconf CLK_TCK)" "$N" "${T0[*]}" "${T1[*]}" "${T2[*]}" "$(for k in 1 2 3 4; do pstat "127.0.0.1:$((BASE + 40 + k))" pilot.sessions; done | tr '\n' ' ')" <<'PY' | tee -a "$OUT/steady.txt"
import sys
hz, n = int(sys.argv[1]), int(sys.argv[2])
t0, t1, t2 = ([int(x) for x in a.split()] for a in sys.argv[3:6])
sess = [int(x) for x in sys.argv[6].split()]
names = ["etcd", "meta", "p1", "p2", "p3", "p4"] + ["mock%d" % i for i in range(len(t0) - 7)] + ["machine"]
cost = [(c - b) / hz for b, c in zip(t1, t2)]
idle = (t1[-1] - t0[-1]) / hz
print("push CPU, the 3 s after the change (s):", " ".join("%s %.2f" % x for x in zip(names, cost)), "(the whole machine over the 2 s before: %.2f)" % idle)
pil, mocks, machine = sum(cost[2:6]), sum(cost[6:-1]), cost[-1]
print("push CPU: pilots %.2f s (%.1f us per session), simulated sidecars %.2f s (%.1f us per sidecar), etcd+meta %.2f s, the whole machine %.2f s (other processes and kernel threads %.2f s); per pilot us/session: %s" % (
    pil, pil / n * 1e6, mocks, mocks / n * 1e6, cost[0] + cost[1], machine, machine - sum(cost[:-1]),
    " ".join("p%d %.1f" % (k + 1, cost[2 + k] / s * 1e6) for k, s in enumerate(sess) if s)))
PY
sleep 20
for k in 1 2 3 4; do
	a=127.0.0.1:$((BASE + 40 + k))
	echo "p$k push (Data Cache to stream): count $(pstat $a pilot.push_delay.count) p50 $(pstat $a pilot.push_delay.p50_us)us p99 $(pstat $a pilot.push_delay.p99_us)us max $(pstat $a pilot.push_delay.max_us)us"
	echo "p$k push (Data Cache to ACK): count $(pstat $a pilot.push_acked.count) p50 $(pstat $a pilot.push_acked.p50_us)us p99 $(pstat $a pilot.push_acked.p99_us)us max $(pstat $a pilot.push_acked.max_us)us"
done | tee -a "$OUT/steady.txt"
# The push's stages, exactly: from the change's stamp (the driver's
# clock, just before its registry write) to each pilot's Data Cache, and
# to the last ACK any pilot received (the histograms above are bucketed).
stamp=
for k in 1 2 3 4; do
	stamp=$(curl -fsS "http://127.0.0.1:$((BASE + 40 + k))/debug/config?node=mock-0" 2>/dev/null | grep -o '"changed_at": *"[0-9]*"' | grep -o '[0-9][0-9]*' | head -1 || true)
	[ -z "$stamp" ] || break
done
if [ -n "$stamp" ]; then
	last=0 stages=
	for k in 1 2 3 4; do
		a=127.0.0.1:$((BASE + 40 + k))
		l=$(pstat "$a" pilot.last_push_ack_unix_us) c=$(pstat "$a" pilot.last_change_unix_us)
		[ "$l" -le "$last" ] || last=$l
		stages="$stages p$k $(((c * 1000 - stamp) / 1000000)) ms"
	done
	echo "from the change's stamp: to the Data Cache$stages; to the last ACK at any pilot $(((last * 1000 - stamp) / 1000000)) ms"
	# Every session's ACK, to the millisecond: each pilot counts its
	# latest push's ACKs per millisecond after its Data Cache had the
	# change (GET /debug/push); shifted by that pilot's stamp-to-Data-Cache
	# time they merge into one distribution from the stamp.
	for k in 1 2 3 4; do
		curl -fsS "http://127.0.0.1:$((BASE + 40 + k))/debug/push" 2>/dev/null || echo '{}'
	done | python3 -c '
import json, math, sys
stamp, n = int(sys.argv[1]), int(sys.argv[2])
acks = []  # (ms after the stamp, count), each ACK at the upper bound of its millisecond
for line in sys.stdin:
    p = json.loads(line)
    if not p.get("acked"):
        continue
    off = (p["changed_unix_us"] * 1000 - stamp) / 1e6
    acks += [(off + i + 1, c) for i, c in enumerate(p["ack_ms"]) if c]
    acks.append((math.inf, p["later"]))
acks.sort()
total = sum(c for _, c in acks)
def q(f):
    rank, s = max(1, math.ceil(f * total)), 0
    for t, c in acks:
        s += c
        if s >= rank:
            return "%.0f ms" % t
print("from the stamp to each session ACK (to the ms; %d ACKs of %d sessions): p50 %s p90 %s p99 %s max %s" % (total, n, q(0.5), q(0.9), q(0.99), q(1)))
' "$stamp" "$N"
fi | tee -a "$OUT/steady.txt"

# Failover: CPU of the registry, Meta and the surviving pilots, sampled
# every second while p2's sidecars move.
HZ=$(getconf CLK_TCK)
machine_busy() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8}' /proc/stat; }
sample() { # output file, stop file, pilots to count sessions on (numbers), -- processes to sample
	local file=$1 stop=$2
	shift 2
	local counted=()
	while [ "$1" != "--" ]; do counted+=("$1"); shift; done
	shift
	local names=("$@") prev=() i mocks=() m0=0 m1=0
	for k in $(seq 0 $((PROCS - 1))); do mocks+=("${PID[mock$k]}"); done
	for i in "${!names[@]}"; do prev[$i]=$(cpu_ticks "${PID[${names[$i]}]}"); done
	for p in "${mocks[@]}"; do m0=$((m0 + $(cpu_ticks "$p"))); done
	read -r b0 t0 < <(machine_busy)
	# CPU is per wall second of each sample (a sample takes longer than
	# its 1s sleep on a saturated machine).
	echo "ms ${names[*]} mocks (CPU % of one core) machine_busy% sessions(${counted[*]})" >"$file"
	local t=0 w0 wp w el
	w0=$(date +%s%N)
	wp=$w0
	while [ ! -e "$stop" ] && [ $t -lt 300 ]; do
		sleep 1
		t=$((t + 1))
		w=$(date +%s%N)
		el=$(((w - wp) / 1000000))
		[ "$el" -gt 0 ] || el=1
		wp=$w
		local line="$(((w - w0) / 1000000))"
		for i in "${!names[@]}"; do
			local c
			c=$(cpu_ticks "${PID[${names[$i]}]}")
			line="$line $(((c - prev[i]) * 100000 / HZ / el))"
			prev[$i]=$c
		done
		m1=0
		for p in "${mocks[@]}"; do m1=$((m1 + $(cpu_ticks "$p"))); done
		read -r b1 t1 < <(machine_busy)
		line="$line $(((m1 - m0) * 100000 / HZ / el)) $(((b1 - b0) * 100 / (t1 - t0 > 0 ? t1 - t0 : 1)))"
		m0=$m1 b0=$b1 t0=$t1
		echo "$line $(sessions "${counted[@]}")" >>"$file"
	done
}
sample "$OUT/failover-cpu.txt" "$OUT/moved" 1 3 4 -- etcd meta p1 p3 p4 &
SAMPLER=$!
before=$(pstat 127.0.0.1:$((BASE + 42)) pilot.sessions)
OV1=$(overflows)
KILL_NS=$(date +%s%N)
kill -9 "${PID[p2]}"
echo "killed p2 ($before sessions) at $KILL_NS"
while :; do
	s=$(sessions 1 3 4)
	[ "$s" -ge "$N" ] && break
	[ $(($(date +%s%N) - KILL_NS)) -lt 300000000000 ] || { echo "p2's sidecars did not all move within 5 minutes"; break; }
	sleep 0.5
done
echo "all sessions back after $((($(date +%s%N) - KILL_NS) / 1000000)) ms (polled); listen queue overflows meanwhile: $(($(overflows) - OV1))"
sleep 5
touch "$OUT/moved"
wait $SAMPLER || true
for k in 1 3 4; do
	a=127.0.0.1:$((BASE + 40 + k))
	echo "p$k after: sessions $(pstat $a pilot.sessions) apps $(pstat $a shard.owned) watch.svc $(pstat $a pilot.watches.services) rss_MiB $(($(rss_kb "${PID[p$k]}") / 1024))"
done | tee -a "$OUT/steady.txt"

# The sidecars check their owners now (Meta look-ups: "on the owner");
# let them finish before the return is timed: until Meta has answered no
# look-up for 3s, at most 5 minutes.
prev=-1 same=0
for _ in $(seq 1 300); do
	n=$(pstat "$META" meta.lookups)
	if [ "$n" = "$prev" ]; then same=$((same + 1)); else same=0; fi
	[ $same -ge 3 ] && break
	prev=$n
	sleep 1
done
echo "owner checks over: $n look-ups answered by Meta in all"

# Return: p2 starts again under its id; its apps move back, and p1, p3
# and p4 redirect their sidecars to it.
sample "$OUT/return-cpu.txt" "$OUT/returned" 2 -- etcd meta p1 p2 p3 p4 &
SAMPLER=$!
RETURN_NS=$(date +%s%N)
start p2 pilot --etcd-endpoints "$ETCD" --shard-id p2 --shard-lease-ttl "$LEASE_TTL" --xds-address "127.0.0.1:$((BASE + 32))" \
	--http-address "127.0.0.1:$((BASE + 42))" --log-level warn
echo "p2 started again at $RETURN_NS"
while :; do
	s=$(pstat 127.0.0.1:$((BASE + 42)) pilot.sessions)
	[ "$s" -ge "$before" ] && break
	[ $(($(date +%s%N) - RETURN_NS)) -lt 300000000000 ] || { echo "p2's sidecars did not all come back within 5 minutes"; break; }
	sleep 0.5
done
echo "p2 has $before sessions again after $((($(date +%s%N) - RETURN_NS) / 1000000)) ms (polled)"
sleep 5
touch "$OUT/returned"
wait $SAMPLER || true
for k in 1 2 3 4; do
	a=127.0.0.1:$((BASE + 40 + k))
	echo "p$k after the return: sessions $(pstat $a pilot.sessions) apps $(pstat $a shard.owned) watch.svc $(pstat $a pilot.watches.services) rss_MiB $(($(rss_kb "${PID[p$k]}") / 1024))"
done | tee -a "$OUT/steady.txt"

touch "$OUT/stop"
fail=0
for k in $(seq 0 $((PROCS - 1))); do wait "${PID[mock$k]}" || fail=1; done
wait "${PID[driver]}" || fail=1
python3 "$HERE/merge.py" "$KILL_NS" "$RETURN_NS" "$OUT"/mock*.json "$OUT/driver.json" | tee "$OUT/summary.txt"
cat "$OUT/failover-cpu.txt" "$OUT/return-cpu.txt"
echo "membership leases lost and renewed (pilot logs): $(cat "$OUT"/p*.log | grep -c "lost the lease" || true)"
echo "output in $OUT; failed: $fail"
exit $fail
