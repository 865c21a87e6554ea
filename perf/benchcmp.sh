#!/usr/bin/env bash
# Compares the Go microbenchmarks of two commits with benchstat.
#
#   perf/benchcmp.sh OLD NEW [packages...]
#
# OLD and NEW are commits (anything git rev-parse takes); NEW may be "." for
# the working tree as it is. Packages default to ./... ; only those with a
# Benchmark function are built and run.
#
# Each commit is checked out with `git worktree add` into a temporary
# directory and its test binaries are built once. They then run
# `-test.run '^$' -test.bench $BENCH` alternately, OLD then NEW, COUNT times
# (default 10, so each side gets the samples of -count=10): on a shared,
# noisy machine a slow minute then hurts both sides alike instead of one.
# benchstat (golang.org/x/perf, pinned below) compares the two.
#
# Environment: COUNT (10), BENCH (.), BENCHTIME (go's default, e.g. 200ms or
# 1000x), CPU (the -cpu list, go's default), OUT (a directory to keep old.txt
# and new.txt in; default: a temporary one, removed).
set -euo pipefail

BENCHSTAT=golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da

if [ $# -lt 2 ]; then
	sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
	exit 2
fi
old=$1 new=$2
shift 2
pkgs=("$@")
[ ${#pkgs[@]} -gt 0 ] || pkgs=(./...)

top=$(git rev-parse --show-toplevel)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/benchcmp.XXXXXX")
worktrees=()
cleanup() {
	for wt in "${worktrees[@]}"; do
		git -C "$top" worktree remove --force "$wt" >/dev/null 2>&1 || true
	done
	git -C "$top" worktree prune >/dev/null 2>&1 || true
	rm -rf "$tmp"
}
trap cleanup EXIT

out=${OUT:-$tmp/out}
mkdir -p "$out"

# checkout SIDE REV sets dir to a worktree of REV, or to the working tree
# for ".".
checkout() {
	local side=$1 rev=$2
	if [ "$rev" = . ]; then
		dir=$top
		return
	fi
	local sha
	sha=$(git -C "$top" rev-parse --verify --quiet "$rev^{commit}") || {
		echo "benchcmp: $rev is not a commit" >&2
		exit 2
	}
	git -C "$top" worktree add --quiet --detach "$tmp/$side" "$sha"
	worktrees+=("$tmp/$side")
	dir=$tmp/$side
}

# build SIDE DIR: one test binary per package with benchmarks, listed in
# $tmp/SIDE.list as "binary<TAB>package directory".
build() {
	local side=$1 dir=$2
	mkdir -p "$tmp/bin-$side"
	: >"$tmp/$side.list"
	(cd "$dir" && go list -f '{{if or .TestGoFiles .XTestGoFiles}}{{.ImportPath}}{{"\t"}}{{.Dir}}{{end}}' "${pkgs[@]}") |
		while IFS=$'\t' read -r pkg pdir; do
			[ -n "$pkg" ] || continue
			grep -qs '^func Benchmark' "$pdir"/*_test.go || continue
			local bin="$tmp/bin-$side/$(echo "$pkg" | tr '/.' '__').test"
			(cd "$dir" && go test -c -o "$bin" "$pkg")
			printf '%s\t%s\n' "$bin" "$pdir" >>"$tmp/$side.list"
		done
}

run() {
	local side=$1
	local args=(-test.run '^$' -test.bench "${BENCH:-.}" -test.count 1 -test.benchmem)
	[ -z "${BENCHTIME:-}" ] || args+=(-test.benchtime "$BENCHTIME")
	[ -z "${CPU:-}" ] || args+=(-test.cpu "$CPU")
	while IFS=$'\t' read -r bin pdir; do
		(cd "$pdir" && "$bin" "${args[@]}") | grep -v -e '^PASS$' -e '^ok ' >>"$out/$side.txt"
	done <"$tmp/$side.list"
}

describe() {
	if [ "$1" = . ]; then
		echo "the working tree"
	else
		git -C "$top" log -1 --format='%h %s' "$1"
	fi
}

checkout old "$old"
olddir=$dir
checkout new "$new"
newdir=$dir
echo "old: $(describe "$old")" >&2
echo "new: $(describe "$new")" >&2
echo "building test binaries..." >&2
build old "$olddir"
build new "$newdir"
: >"$out/old.txt"
: >"$out/new.txt"
count=${COUNT:-10}
for i in $(seq 1 "$count"); do
	echo "round $i of $count" >&2
	run old
	run new
done

# benchstat names its columns after the files.
cd "$out"
go run "$BENCHSTAT" old.txt new.txt
[ -z "${OUT:-}" ] || echo "raw results: $out/old.txt $out/new.txt" >&2
