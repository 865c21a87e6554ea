package lb

import (
	"fmt"
	"slices"
	"testing"
)

// localityEndpoints: 20 endpoints; 0-9 in zone "a", 10-19 in zone "b";
// 0-3 also in SET "s1", 10-11 in SET "s2" (a SET may span zones, so 12 is in
// "s1" but zone "b"). down lists the unhealthy ones, zero the weight-0 ones.
func localityEndpoints(down, zero []int) []Endpoint {
	eps := makeEndpoints(20, unit)
	for i := range eps {
		eps[i].Zone = "a"
		if i >= 10 {
			eps[i].Zone = "b"
		}
		switch {
		case i <= 3 || i == 12:
			eps[i].Set = "s1"
		case i == 10 || i == 11:
			eps[i].Set = "s2"
		}
		eps[i].Healthy = !slices.Contains(down, i)
		if slices.Contains(zero, i) {
			eps[i].Weight = 0
		}
	}
	return eps
}

func span(from, to int, except ...int) []int {
	var s []int
	for i := from; i <= to; i++ {
		if !slices.Contains(except, i) {
			s = append(s, i)
		}
	}
	return s
}

func TestLocality(t *testing.T) {
	tests := []struct {
		name string
		down []int
		zero []int
		opts Options
		want []int // exactly the endpoints picked
	}{
		{"no locality: everything", nil, nil, Options{}, span(0, 19)},
		{"zone", nil, nil, Options{LocalZone: "b", PanicThreshold: 0.7}, span(10, 19)},
		{"SET preferred over zone", nil, nil, Options{LocalZone: "a", LocalSet: "s1", PanicThreshold: 0.7}, []int{0, 1, 2, 3, 12}},
		// Zone "a" with threshold 0.7: 7 healthy of 10 is exactly the threshold.
		{"zone at threshold", span(7, 9), nil, Options{LocalZone: "a", PanicThreshold: 0.7}, span(0, 6)},
		{"zone below threshold", span(6, 9), nil, Options{LocalZone: "a", PanicThreshold: 0.7}, span(0, 19, 6, 7, 8, 9)},
		// SET "s1" (5 endpoints) with threshold 0.6: 3 healthy is 0.6.
		{"SET at threshold", []int{0, 12}, nil, Options{LocalZone: "a", LocalSet: "s1", PanicThreshold: 0.6}, []int{1, 2, 3}},
		{"SET below threshold falls to zone", []int{0, 1, 12}, nil, Options{LocalZone: "a", LocalSet: "s1", PanicThreshold: 0.6}, span(2, 9)},
		{"SET and zone below threshold fall to all", []int{0, 1, 12, 4, 5, 6}, nil, Options{LocalZone: "a", LocalSet: "s1", PanicThreshold: 0.6}, span(0, 19, 0, 1, 12, 4, 5, 6)},
		{"weight 0 counts against the share", nil, []int{10}, Options{LocalSet: "s2", PanicThreshold: 0.6}, span(0, 19, 10)},
		{"weight 0 at threshold 0.5", nil, []int{10}, Options{LocalSet: "s2", PanicThreshold: 0.5}, []int{11}},
		{"threshold 0 never prefers a group that is all down", []int{10, 11}, nil, Options{LocalSet: "s2", PanicThreshold: 0}, span(0, 19, 10, 11)},
		{"threshold 1 needs every local endpoint healthy", []int{19}, nil, Options{LocalZone: "b", PanicThreshold: 1}, span(0, 18)},
		{"unknown zone: everything", nil, nil, Options{LocalZone: "c", PanicThreshold: 0.5}, span(0, 19)},
		{"all down: panic mode over everything", span(0, 19), nil, Options{LocalZone: "a", PanicThreshold: 0.5}, span(0, 19)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			eps := localityEndpoints(tc.down, tc.zero)
			p := mustBuild(t, Locality(roundRobin{}), eps, tc.opts)
			var got []int
			for range 200 {
				if i := p.Pick(nil); !slices.Contains(got, i) {
					got = append(got, i)
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				t.Errorf("picked %v, want %v", got, tc.want)
			}
		})
	}
}

// TestLocalityMapsHashedKeys checks that Locality returns indexes of the
// caller's slice: with a hashing balancer, a key goes to the same address as
// when the local group is given to the balancer directly.
func TestLocalityMapsHashedKeys(t *testing.T) {
	eps := localityEndpoints(nil, nil)
	var local []Endpoint
	for _, e := range eps {
		if e.Zone == "b" {
			local = append(local, e)
		}
	}
	keys := makeKeys(1000)
	for _, b := range []Balancer{ringHash{}, maglev{}} {
		wrapped := mustBuild(t, Locality(b), eps, Options{LocalZone: "b", PanicThreshold: 0.5})
		direct := mustBuild(t, b, local, Options{})
		got, want := addresses(wrapped, eps, keys), addresses(direct, local, keys)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: locality maps keys differently from the balancer on the local group", b.Name())
		}
	}
}
