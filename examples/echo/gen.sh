#!/bin/sh
# Regenerates kitex_gen/ from echo.thrift, exactly as committed.
#
# The generator is built from a throwaway module outside the repository that
# pins Kitex v0.16.3, the version in go.mod, so the repository's go.mod never
# sees the tool's dependencies. Kitex's tool embeds thriftgo (v0.4.5 for
# Kitex v0.16.3), so no thriftgo binary is needed on PATH.
#
# Note: `go get github.com/cloudwego/kitex@v0.16.3` alone is not enough to
# build the tool (go.sum lacks thriftgo and prutal); getting the tool's
# package path pulls them in.
set -eu

KITEX_VERSION=v0.16.3
MODULE=github.com/octomesh/octomesh

here=$(cd "$(dirname "$0")" && pwd)
tooldir=$(mktemp -d /tmp/kitexgen.XXXXXX)
trap 'rm -rf "$tooldir"' EXIT

(
	cd "$tooldir"
	go mod init kitexgen >/dev/null 2>&1
	go get "github.com/cloudwego/kitex/tool/cmd/kitex@$KITEX_VERSION"
	go build -o "$tooldir/kitex" github.com/cloudwego/kitex/tool/cmd/kitex
)

cd "$here"
rm -rf kitex_gen
"$tooldir/kitex" -module "$MODULE" echo.thrift
