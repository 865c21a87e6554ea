package lb

import (
	"errors"
	"fmt"
	"go/parser"
	"go/token"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// makeEndpoints returns n healthy endpoints with distinct addresses and the
// weights given by weight(i).
func makeEndpoints(n int, weight func(i int) uint32) []Endpoint {
	eps := make([]Endpoint, n)
	for i := range eps {
		eps[i] = Endpoint{
			Address: fmt.Sprintf("10.%d.%d.%d:8080", i>>16&255, i>>8&255, i&255),
			Weight:  weight(i),
			Zone:    "z" + strconv.Itoa(i%3),
			Healthy: true,
			Load:    new(Load),
		}
	}
	return eps
}

func unit(int) uint32 { return 1 }

// makeKeys returns n distinct request keys.
func makeKeys(n int) [][]byte {
	keys := make([][]byte, n)
	for i := range keys {
		keys[i] = []byte("user-" + strconv.Itoa(i))
	}
	return keys
}

// balancers is every balancer under test: the registered ones and each
// wrapped in Locality.
func balancers(t testing.TB) []Balancer {
	t.Helper()
	var bs []Balancer
	for _, name := range []string{RoundRobinName, P2CPeakEWMAName, RingHashName, MaglevName} {
		b, err := Get(name)
		if err != nil {
			t.Fatal(err)
		}
		bs = append(bs, b, Locality(b))
	}
	return bs
}

func mustBuild(t testing.TB, b Balancer, eps []Endpoint, opts Options) Picker {
	t.Helper()
	p, err := b.Build(eps, opts)
	if err != nil {
		t.Fatalf("%s: Build: %v", b.Name(), err)
	}
	return p
}

func TestRegistry(t *testing.T) {
	want := []string{MaglevName, P2CPeakEWMAName, RingHashName, RoundRobinName}
	if got := Names(); !slices.Equal(got, want) {
		t.Fatalf("Names() = %v, want %v", got, want)
	}
	for _, name := range want {
		b, err := Get(name)
		if err != nil || b.Name() != name {
			t.Fatalf("Get(%q) = %v, %v", name, b, err)
		}
	}
	_, err := Get("least_conn")
	if err == nil || !strings.Contains(err.Error(), "least_conn") || !strings.Contains(err.Error(), RoundRobinName) {
		t.Fatalf("Get(unknown) error %v should name it and the known balancers", err)
	}
	if got := Locality(roundRobin{}).Name(); got != "locality+round_robin" {
		t.Fatalf("Locality name = %q", got)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("registering a duplicate name did not panic")
		}
	}()
	Register(roundRobin{})
}

// TestCommonRules checks, for every balancer, the rules of the package doc:
// weight 0 and unhealthy endpoints are never picked, panic mode, build errors.
func TestCommonRules(t *testing.T) {
	ep := func(addr string, w uint32, healthy bool) Endpoint {
		return Endpoint{Address: addr, Weight: w, Healthy: healthy, Load: new(Load)}
	}
	tests := []struct {
		name    string
		eps     []Endpoint
		allowed []int // indexes that may be picked; nil means Build fails
		err     error
	}{
		{"one", []Endpoint{ep("a", 1, true)}, []int{0}, nil},
		{"weight 0 excluded", []Endpoint{ep("a", 0, true), ep("b", 3, true), ep("c", 0, true)}, []int{1}, nil},
		{"unhealthy excluded", []Endpoint{ep("a", 1, false), ep("b", 1, true), ep("c", 1, true)}, []int{1, 2}, nil},
		{"panic mode: none healthy", []Endpoint{ep("a", 1, false), ep("b", 0, false), ep("c", 2, false)}, []int{0, 2}, nil},
		{"none with weight", []Endpoint{ep("a", 0, true), ep("b", 0, false)}, nil, ErrNoEndpoints},
		{"empty", nil, nil, ErrNoEndpoints},
	}
	keys := makeKeys(2000)
	for _, b := range balancers(t) {
		for _, tc := range tests {
			t.Run(b.Name()+"/"+tc.name, func(t *testing.T) {
				p, err := b.Build(tc.eps, Options{})
				if tc.err != nil {
					if !errors.Is(err, tc.err) {
						t.Fatalf("Build error = %v, want %v", err, tc.err)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				seen := map[int]int{}
				for _, k := range append(keys, nil) {
					seen[p.Pick(k)]++
				}
				for range 2000 {
					seen[p.Pick(nil)]++
				}
				for i := range seen {
					if !slices.Contains(tc.allowed, i) {
						t.Fatalf("picked %d, allowed %v (picks %v)", i, tc.allowed, seen)
					}
				}
				if len(seen) != len(tc.allowed) {
					t.Fatalf("picked %v, want every one of %v", seen, tc.allowed)
				}
			})
		}
	}
}

func TestBuildRejectsInvalidInput(t *testing.T) {
	dup := makeEndpoints(3, unit)
	dup[2].Address = dup[0].Address
	nilLoad := makeEndpoints(3, unit)
	nilLoad[1].Load = nil
	tests := []struct {
		name string
		b    Balancer
		eps  []Endpoint
		opts Options
	}{
		{"duplicate address", ringHash{}, dup, Options{}},
		{"duplicate address", maglev{}, dup, Options{}},
		{"nil Load", p2cPeakEWMA{}, nilLoad, Options{}},
		{"threshold above 1", Locality(roundRobin{}), nilLoad, Options{PanicThreshold: 1.5}},
		{"threshold below 0", Locality(roundRobin{}), nilLoad, Options{PanicThreshold: -0.1}},
	}
	for _, tc := range tests {
		if _, err := tc.b.Build(tc.eps, tc.opts); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("%s/%s: Build error = %v, want ErrInvalidInput", tc.b.Name(), tc.name, err)
		}
	}
}

// TestLargeSets checks that 10,000 endpoints build and that every pick is a
// valid index, with hashed keys reaching a large share of the endpoints.
func TestLargeSets(t *testing.T) {
	eps := makeEndpoints(10000, func(i int) uint32 { return uint32(1 + i%7) })
	keys := makeKeys(50000)
	for _, b := range balancers(t) {
		p := mustBuild(t, b, eps, Options{LocalZone: "z1", PanicThreshold: 0.5})
		seen := map[int]bool{}
		for _, k := range keys {
			i := p.Pick(k)
			if i < 0 || i >= len(eps) {
				t.Fatalf("%s: Pick = %d", b.Name(), i)
			}
			seen[i] = true
		}
		// 50,000 picks over 3,334 (zone) or 10,000 endpoints reach nearly all.
		if len(seen) < 3000 {
			t.Errorf("%s: 50,000 picks reached only %d endpoints", b.Name(), len(seen))
		}
	}
}

func TestPickDoesNotAllocate(t *testing.T) {
	key := []byte("session-42")
	for _, n := range []int{1, 10, 10000} {
		eps := makeEndpoints(n, func(i int) uint32 { return uint32(1 + i%5) })
		for _, b := range balancers(t) {
			p := mustBuild(t, b, eps, Options{LocalZone: "z0", PanicThreshold: 0.5})
			for _, k := range [][]byte{key, nil} {
				if a := testing.AllocsPerRun(1000, func() { p.Pick(k) }); a != 0 {
					t.Errorf("%s/%d: Pick(%q) allocates %v", b.Name(), n, k, a)
				}
			}
		}
	}
}

// TestIsLeaf enforces the package doc: lb imports no OctoMesh package.
func TestIsLeaf(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("glob: %v %v", files, err)
	}
	data, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	module := strings.Fields(strings.SplitN(string(data), "\n", 2)[0])[1]
	fset := token.NewFileSet()
	for _, f := range files {
		ast, err := parser.ParseFile(fset, f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range ast.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if path == module || strings.HasPrefix(path, module+"/") {
				t.Errorf("%s imports %s: lb must stay a leaf", f, path)
			}
		}
	}
}

// TestExtremeWeights: weights at the top of uint32 next to weight 1 must not
// overflow anything; the light endpoint gets next to nothing.
func TestExtremeWeights(t *testing.T) {
	weights := []uint32{math.MaxUint32, 1, math.MaxUint32 - 1}
	eps := makeEndpoints(len(weights), func(i int) uint32 { return weights[i] })
	keys := makeKeys(10000)
	for _, b := range balancers(t) {
		p := mustBuild(t, b, eps, Options{})
		counts := make([]int, len(eps))
		for _, k := range keys {
			counts[p.Pick(k)]++
			counts[p.Pick(nil)]++
		}
		if counts[1] > 20 || counts[0] < 5000 || counts[2] < 5000 {
			t.Errorf("%s: picks %v for weights %v", b.Name(), counts, weights)
		}
	}
}

// TestConcurrentPick runs pickers from several goroutines, with the Load
// feedback of a real upstream, for the race detector.
func TestConcurrentPick(t *testing.T) {
	eps := makeEndpoints(50, func(i int) uint32 { return uint32(1 + i%3) })
	keys := makeKeys(256)
	for _, b := range balancers(t) {
		p := mustBuild(t, b, eps, Options{LocalZone: "z2", PanicThreshold: 0.5})
		done := make(chan struct{})
		for g := range 4 {
			go func() {
				defer func() { done <- struct{}{} }()
				for i := range 2000 {
					k := p.Pick(keys[(g*31+i)%len(keys)])
					eps[k].Load.Begin()
					eps[k].Load.End(time.Duration(i%5+1)*time.Millisecond, i%97 == 0)
				}
			}()
		}
		for range 4 {
			<-done
		}
	}
	for _, e := range eps {
		if e.Load.Inflight() != 0 {
			t.Fatalf("%s: in flight %d", e.Address, e.Load.Inflight())
		}
	}
}
