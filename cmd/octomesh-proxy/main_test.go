package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestArgumentsAndExitStatus(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		status int
		out    string // in stdout, or else stderr
	}{
		{[]string{"version"}, 0, version},
		{nil, 2, "octomesh-proxy: --config is required"},
		{[]string{"proxy"}, 2, "octomesh-proxy: --config is required"},
		{[]string{"proxy", "--nope"}, 2, "flag provided but not defined: -nope"},
		{[]string{"--config", "/nonexistent/sidecar.yaml"}, 1, "no such file"},
		{[]string{"proxy", "--config", "/nonexistent/sidecar.yaml"}, 1, "no such file"},
	} {
		var stdout, stderr bytes.Buffer
		got := run(tc.args, &stdout, &stderr)
		if got != tc.status || !strings.Contains(stdout.String()+stderr.String(), tc.out) {
			t.Errorf("octomesh-proxy %q: status %d, output %q%q; want %d and %q", tc.args, got, stdout.String(), stderr.String(), tc.status, tc.out)
		}
	}
}
