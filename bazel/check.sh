#!/usr/bin/env bash
# What CI runs for Bazel: setup, build everything, test everything, and check
# that the committed BUILD files and deps.bzl are what bazel/update.sh makes.
# Stops at the first failing step with a non-zero exit code.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
  export PATH="/usr/local/go/bin:$PATH"
fi

step() { printf '\n=== bazel/check.sh: %s\n' "$*" >&2; }

flags=()
if [ -n "${CI:-}" ]; then
  flags+=(--curses=no --color=no --show_progress_rate_limit=30)
fi

step "setup"
bazel/setup.sh

step "bazel build //..."
bazel build "${flags[@]}" //...

step "bazel test //..."
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
set +e
bazel test "${flags[@]}" //... 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
# Bazel's summary, e.g. "Executed 3 out of 9 tests: 8 tests pass and 1 fails locally."
summary="$(grep -E '^Executed [0-9]+ out of [0-9]+ tests?: ' "$log" | tail -n 1 || true)"
if [ -n "$summary" ]; then
  passed="$(sed -nE 's/.*: ([0-9]+) tests? pass.*/\1/p' <<<"$summary")"
  failed="$(sed -nE 's/.* ([0-9]+) (fails?|tests? fails?).*/\1/p' <<<"$summary")"
  echo "bazel: ${passed:-0} passed, ${failed:-0} failed"
fi
if [ "$rc" != 0 ]; then
  echo "bazel/check.sh: bazel test failed (exit $rc)" >&2
  exit "$rc"
fi

step "BUILD files and deps.bzl up to date"
bazel/update.sh
# Changed or new (untracked) generated files both mean "run bazel/update.sh
# and commit the result".
if ! git diff --exit-code -- '*.bazel' deps.bzl WORKSPACE ||
  [ -n "$(git status --porcelain --untracked-files=all -- '*.bazel' deps.bzl WORKSPACE)" ]; then
  git status --short -- '*.bazel' deps.bzl WORKSPACE >&2
  echo "bazel/check.sh: BUILD files or deps.bzl are out of date: run bazel/update.sh and commit the result" >&2
  exit 1
fi
echo "bazel/check.sh: all steps passed" >&2
