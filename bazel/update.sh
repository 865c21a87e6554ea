#!/usr/bin/env bash
# Regenerates the Bazel files that follow from the Go code:
#
#   deps.bzl      one go_repository per module of go.mod's build list, written
#                 from scratch by `gazelle update-repos`, then given the
#                 attributes that make them build offline (see below);
#   BUILD.bazel   in every Go package, by `gazelle update` over the tree (the
#                 root BUILD.bazel excludes .bazeldeps, bazel/remote_coverage_tools
#                 and what lies inside testdata; bazel-* links are never followed).
#
# Deterministic: the same go.mod, go.sum and sources give the same files, so CI
# runs this and then `git diff --exit-code`. Needs bazel/setup.sh first (it is
# run here when .bazeldeps/bin/gazelle is missing).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
  export PATH="/usr/local/go/bin:$PATH"
fi
gazelle="$root/.bazeldeps/bin/gazelle"
[ -x "$gazelle" ] || "$root/bazel/setup.sh"

# Gazelle calls the go command (go list -m, go mod download); keep it on the
# local toolchain and from rewriting go.mod or go.sum.
export GOTOOLCHAIN=local GOFLAGS=-mod=readonly

# --- deps.bzl -------------------------------------------------------------------
# From scratch, so that no attribute of an earlier run survives a merge.
#
# Every repository gets:
#   build_file_proto_mode = "disable_global": no protoc offline; use the
#       checked-in .pb.go files and ignore .proto files;
#   build_file_generation = "on" + build_file_name = "BUILD.gazelle": gazelle
#       writes its own build files even where the module ships some (cel.dev/expr
#       and protoc-gen-validate ship BUILD files that load @com_google_protobuf
#       or rules_proto, which this workspace does not have) ...
#   patch_cmds: ... and they then replace the shipped ones (patch_cmds run after
#       gazelle). For modules without BUILD files this is what go_repository
#       does by default.
# (WORKSPACE names the macro, so gazelle wants the file to exist.)
printf 'def go_dependencies():\n    pass\n' >deps.bzl
"$gazelle" update-repos \
  -from_file=go.mod \
  -to_macro=deps.bzl%go_dependencies \
  -build_file_proto_mode=disable_global \
  -build_file_generation=on \
  -build_file_names=BUILD.gazelle

rename_cmd='find . -name BUILD.gazelle -type f | while read -r f; do mv -f "$f" "${f%.gazelle}.bazel"; done'
tmp="$(mktemp)"
trap 'rm -f "$tmp"' EXIT
awk -v cmd="$rename_cmd" '
  BEGIN { gsub(/\\/, "\\\\", cmd); gsub(/"/, "\\\"", cmd) }
  { print }
  /^    go_repository\($/ { inrule = 1; next }
  inrule && /^        name = / {
    print "        patch_cmds = [\"" cmd "\"],"
    inrule = 0
  }
' deps.bzl >"$tmp"
cat "$tmp" >deps.bzl
n_rules="$(grep -c '^    go_repository($' deps.bzl || true)"
n_patched="$(grep -c '^        patch_cmds = ' deps.bzl || true)"
if [ "$n_rules" != "$n_patched" ]; then
  echo "bazel/update.sh: deps.bzl has $n_rules go_repository rules but $n_patched got patch_cmds: gazelle's layout changed?" >&2
  exit 1
fi

# --- BUILD.bazel files -------------------------------------------------------------
"$gazelle" update -mode=fix -repo_root="$root" "$root"
