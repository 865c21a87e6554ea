#!/usr/bin/env bash
# Prepares this machine and this checkout for `bazel build //...`.
#
#   1. installs the Debian packages Bazel needs (Bazel 4.2.3 and the rule sets
#      that fit it), with apt-get, when they are missing;
#   2. fetches rules_go and gazelle through the Go module proxy, copies them into
#      .bazeldeps/ (git-ignored) and applies bazel/patches/*.patch to them;
#   3. vendors gazelle's Go dependencies (go_repository builds gazelle in GOPATH
#      mode) and builds the gazelle binary that bazel/update.sh runs.
#
# Idempotent: steps 2 and 3 are redone only when this script, the patches or the
# Go toolchain changed (a stamp in .bazeldeps/ records them). Runs as root
# without a terminal (CI); apt-get is called through sudo when not root.
set -euo pipefail

RULES_GO_VERSION=v0.34.0
GAZELLE_VERSION=v0.27.0
APT_PACKAGES=(bazel-bootstrap bazel-bootstrap-source bazel-skylib bazel-platforms gcc libc6-dev patch)

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
deps="$root/.bazeldeps"

log() { printf 'bazel/setup.sh: %s\n' "$*" >&2; }

# --- 1. Debian packages -------------------------------------------------------
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$pkg")
  fi
done
if ((${#missing[@]})); then
  log "installing ${missing[*]}"
  sudo=()
  if [ "$(id -u)" != 0 ]; then sudo=(sudo); fi
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
fi
for path in /usr/share/bazel/tools/skylib /usr/share/bazel/tools/platforms \
  /usr/src/bazel-bootstrap/mock_repos/rules_cc /usr/src/bazel-bootstrap/mock_repos/rules_java; do
  [ -d "$path" ] || { log "missing $path (WORKSPACE uses it)"; exit 1; }
done

# --- Go -----------------------------------------------------------------------
if ! command -v go >/dev/null 2>&1; then
  if [ -x /usr/local/go/bin/go ]; then
    export PATH="/usr/local/go/bin:$PATH"
  else
    log "no go on PATH and no /usr/local/go: install Go first"
    exit 1
  fi
fi
# Our own go commands run with these, whatever the caller's environment says.
export GOTOOLCHAIN=local GOFLAGS=-mod=mod

# --- 2 and 3. rules_go and gazelle ------------------------------------------------
stamp_want="$(
  {
    echo "rules_go $RULES_GO_VERSION gazelle $GAZELLE_VERSION"
    cat "$root/bazel/setup.sh"
    go version
    cat "$root"/bazel/patches/*.patch
  } | sha256sum | cut -d' ' -f1
)"
if [ -f "$deps/stamp" ] && [ "$(cat "$deps/stamp")" = "$stamp_want" ] &&
  [ -x "$deps/bin/gazelle" ] && [ -f "$deps/rules_go/WORKSPACE" ] && [ -f "$deps/bazel_gazelle/WORKSPACE" ]; then
  log ".bazeldeps is up to date"
  exit 0
fi

# module_dir PATH@VERSION prints the module's directory in the module cache,
# downloading it through GOPROXY if needed.
module_dir() {
  local tmp dir
  tmp="$(mktemp -d)"
  dir="$(cd "$tmp" && go mod download -json "$1" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  rm -rf "$tmp"
  [ -n "$dir" ] && [ -d "$dir" ] || { log "go mod download $1 failed"; return 1; }
  printf '%s\n' "$dir"
}

# copy_patched SRC DEST PATCH_PREFIX: a fresh writable copy of SRC with
# bazel/patches/PATCH_PREFIX-*.patch applied in name order.
copy_patched() {
  local src="$1" dest="$2" prefix="$3" p
  rm -rf "$dest"
  cp -R "$src" "$dest"
  chmod -R u+w "$dest"
  # Module zips keep no file modes: give scripts back their execute bit.
  find "$dest" -name '*.sh' -type f -exec chmod +x {} +
  for p in "$root"/bazel/patches/"$prefix"-*.patch; do
    [ -e "$p" ] || continue
    log "applying $(basename "$p")"
    patch -d "$dest" -p1 --batch --forward --quiet <"$p"
  done
}

rm -f "$deps/stamp"
mkdir -p "$deps/bin"

log "fetching rules_go $RULES_GO_VERSION and gazelle $GAZELLE_VERSION"
rules_go_src="$(module_dir "github.com/bazelbuild/rules_go@$RULES_GO_VERSION")"
gazelle_src="$(module_dir "github.com/bazelbuild/bazel-gazelle@$GAZELLE_VERSION")"

copy_patched "$rules_go_src" "$deps/rules_go" rules_go
copy_patched "$gazelle_src" "$deps/bazel_gazelle" gazelle

# Module zips carry no vendor/ tree, but go_repository_tools builds gazelle with
# GO111MODULE=off from this directory: give it its dependencies.
log "vendoring gazelle's dependencies"
(cd "$deps/bazel_gazelle" && go mod vendor)

log "building .bazeldeps/bin/gazelle"
(cd "$deps/bazel_gazelle" && CGO_ENABLED=0 go build -mod=vendor -trimpath -o "$deps/bin/gazelle" ./cmd/gazelle)

echo "$stamp_want" >"$deps/stamp"
log "done"
