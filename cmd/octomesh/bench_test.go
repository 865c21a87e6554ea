package main

import (
	"strings"
	"testing"
)

func TestBenchRealAppFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--realapp", "--rate", "5k"}, "--rate does not apply to --realapp"},
		{[]string{"--realapp", "--matrix"}, "--matrix does not apply to --realapp"},
		{[]string{"--callers", "5"}, "--callers applies to --realapp only"},
		{[]string{"--realapp", "--payload", "1KiB,2KiB"}, "want one size with --realapp"},
		{[]string{"--realapp", "--from-json", "/nonexistent/realapp.json"}, "/nonexistent/realapp.json"},
	} {
		err := runBench(tc.args)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("octomesh bench %s: error %v, want one containing %q", strings.Join(tc.args, " "), err, tc.want)
		}
	}
}
