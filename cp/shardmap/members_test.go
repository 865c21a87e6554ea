package shardmap

import (
	"fmt"
	"testing"
)

func TestRingLeaveAndReturn(t *testing.T) {
	all := NewRing([]string{"s1", "s2", "s3"})
	without := NewRing([]string{"s3", "s1"})
	counts := map[string]int{}
	for i := range 3000 {
		key := fmt.Sprintf("10.0.%d.%d:7000", i/250, i%250)
		succ := all.Successors(key, 3)
		if len(succ) != 3 || succ[0] == succ[1] || succ[1] == succ[2] || succ[0] == succ[2] {
			t.Fatalf("%s: successors %v", key, succ)
		}
		counts[succ[0]]++
		// s2 leaves: its keys go to their next successor, no other moves.
		want := succ[0]
		if want == "s2" {
			want = succ[1]
		}
		if got := without.Owner(key); got != want {
			t.Fatalf("%s: owner without s2 is %s, want %s (successors %v)", key, got, want, succ)
		}
	}
	for id, n := range counts {
		if n < 600 || n > 1400 {
			t.Errorf("%s owns %d of 3000 keys: badly spread %v", id, n, counts)
		}
	}
	if NewRing(nil).Owner("x") != "" || len(NewRing([]string{"a"}).Successors("x", 3)) != 1 {
		t.Fatal("small rings")
	}
}

func TestDecodeScanner(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{`{"id":"s1","zone":"z1","http":"127.0.0.1:1"}`, true},
		{`{"id":"","http":"127.0.0.1:1"}`, false},
		{`{"id":"s1"}`, false},
		{`[`, false},
	} {
		if _, err := DecodeScanner([]byte(tc.in)); (err == nil) != tc.ok {
			t.Errorf("%s: err %v", tc.in, err)
		}
	}
}
