#!/usr/bin/env bash
# Installs HAProxy from the distribution when it is missing, for the
# T1-HAProxy reference topology of `octomesh bench`. Debian or Ubuntu, as
# root. It never leaves an HAProxy service running: package scripts are told
# not to start one (policy-rc.d), so the only HAProxy processes are the ones
# the benchmark starts and stops itself.
set -euo pipefail

# The version's first line. Not `haproxy -v | head -n 1`: under pipefail that
# fails with SIGPIPE (exit 141) whenever head exits before haproxy's last write.
version() { haproxy -v | sed -n 1p; }

if command -v haproxy >/dev/null 2>&1; then
	version
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "install-haproxy: haproxy is missing and installing it needs root (apt-get install haproxy)" >&2
	exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
	echo "install-haproxy: haproxy is missing and there is no apt-get here; install it by hand" >&2
	exit 1
fi

policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' >"$policy"
	chmod +x "$policy"
	trap 'rm -f "$policy"' EXIT
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends haproxy >/dev/null
version
