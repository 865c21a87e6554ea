#!/bin/sh
echo "bazel coverage is not available in this workspace: @remote_coverage_tools is a local stub (see bazel/README.md). Use: go test -cover ./..." >&2
exit 1
