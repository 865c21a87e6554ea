package main

import (
	"strings"
	"testing"
	"time"

	"github.com/octomesh/octomesh/api/rules"
)

// The documents the driver writes are valid Route documents (the checks
// the rule store makes) and carry the stamp in the cluster's name.
func TestRouteDocIsValid(t *testing.T) {
	for _, stamp := range []int64{0, 1733480000123456789} {
		docs, err := rules.DecodeDocuments("d.yaml", []byte(routeDoc("app-7", "echo", stamp)))
		if err != nil {
			t.Fatalf("stamp %d: %v", stamp, err)
		}
		if len(docs) != 1 || docs[0].Kind != rules.KindRoute || docs[0].Metadata.Name != "scale-app-7" || docs[0].Target.App != "app-7" {
			t.Fatalf("stamp %d: %+v", stamp, docs)
		}
		if _, err := rules.Compile(docs); err != nil {
			t.Fatalf("stamp %d: compile: %v", stamp, err)
		}
	}
	if d := routeDoc("a", "echo", 1733480000123456789); !strings.Contains(d, "cluster: echo.t1733480000123456789") {
		t.Fatalf("no stamp in %q", d)
	}
}

func TestFlagsRefused(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--apps", "10"}, "--token-file: required"},
		{[]string{"--token-file", "x", "--apps", "0"}, "--apps 0"},
		{[]string{"--token-file", "x", "--rate", "0"}, "--rate 0"},
		{[]string{"--token-file", "x", "--duration", "2h"}, "--duration 2h0m0s"},
		{[]string{"--token-file", "x", "--seed", "--batch", "1000"}, "--batch 1000"},
		{[]string{"--token-file", "/nonexistent/token"}, "--token-file: open /nonexistent/token"},
	} {
		if err := run(tc.args); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want %q", tc.args, err, tc.want)
		}
	}
}

func TestPercentiles(t *testing.T) {
	var xs []time.Duration
	for i := 100; i >= 1; i-- {
		xs = append(xs, time.Duration(i)*time.Millisecond)
	}
	p := percentiles(xs)
	if p["p50"] != 51 || p["p99"] != 100 || p["max"] != 100 || p["p90"] != 91 {
		t.Fatalf("%v", p)
	}
	if len(percentiles(nil)) != 0 {
		t.Fatal("percentiles of nothing")
	}
}
