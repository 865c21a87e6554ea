package shardmap

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

func names(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%d", prefix, i)
	}
	return out
}

func TestAssignIsAPureFunctionOfTheSets(t *testing.T) {
	pilots, apps := names("pilot", 4), names("app", 500)
	a := Assign(pilots, apps)
	r := rand.New(rand.NewPCG(1, 2))
	for range 5 {
		p2, a2 := append([]string(nil), pilots...), append([]string(nil), apps...)
		r.Shuffle(len(p2), func(i, j int) { p2[i], p2[j] = p2[j], p2[i] })
		r.Shuffle(len(a2), func(i, j int) { a2[i], a2[j] = a2[j], a2[i] })
		if d := Diff(a, Assign(p2, a2)); d != 0 {
			t.Fatalf("the same sets in another order moved %d apps", d)
		}
	}
	if len(a) != len(apps) {
		t.Fatalf("%d of %d apps assigned", len(a), len(apps))
	}
	if len(Assign(nil, apps)) != 0 {
		t.Fatal("apps assigned without pilots")
	}
}

func TestAssignBoundsLoad(t *testing.T) {
	for _, tc := range []struct{ pilots, apps int }{{1, 10}, {2, 3}, {3, 100}, {4, 1000}, {7, 50}, {10, 10}} {
		a := Assign(names("p", tc.pilots), names("a", tc.apps))
		load := map[string]int{}
		for _, p := range a {
			load[p]++
		}
		limit := Capacity(tc.apps, tc.pilots)
		for p, n := range load {
			if n > limit {
				t.Errorf("%d pilots, %d apps: %s owns %d, more than %d", tc.pilots, tc.apps, p, n, limit)
			}
		}
	}
}

// A leaving pilot's apps go to other pilots, few others move, and they all
// come back when it returns.
func TestAssignLeaveAndReturn(t *testing.T) {
	pilots, apps := names("pilot", 4), names("app", 1000)
	before := Assign(pilots, apps)
	during := Assign(pilots[1:], apps)
	leaver, others := 0, 0
	for app, p := range before {
		switch {
		case p == "pilot-0":
			leaver++
			if during[app] == "pilot-0" {
				t.Fatalf("%s stayed on the pilot that left", app)
			}
		case during[app] != p:
			others++
		}
	}
	if others > len(apps)/20 {
		t.Errorf("%d apps of pilots that stayed moved (the leaver had %d)", others, leaver)
	}
	t.Logf("leaver had %d apps; %d apps of other pilots moved", leaver, others)
	if d := Diff(before, Assign(pilots, apps)); d != 0 {
		t.Fatalf("%d apps not back after the pilot returned", d)
	}
	// Its apps spread over several successors, not all onto one.
	to := map[string]int{}
	for app, p := range before {
		if p == "pilot-0" {
			to[during[app]]++
		}
	}
	if len(to) < 2 {
		t.Errorf("the leaver's apps all went to %v", to)
	}
}
