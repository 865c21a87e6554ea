#!/usr/bin/env bash
# Refreshes the console's screenshots (docs/console/*.png): runs the
# browser test against its demo-sized mesh with -update, which writes one
# PNG per page. Needs Chromium (apt-get install chromium).
set -euo pipefail
cd "$(dirname "$0")/../.."
go test ./e2e -run '^TestConsoleInABrowser$' -count=1 -update "$@"
ls -l docs/console/*.png
