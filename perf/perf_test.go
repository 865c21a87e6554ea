package perf

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/pprof/profile"

	"github.com/octomesh/octomesh/proxy/admin"
)

var sink atomic.Pointer[[]byte]

//go:noinline
func burnCPU(stop <-chan struct{}) {
	x := 1.0
	for {
		select {
		case <-stop:
			return
		default:
		}
		for i := 0; i < 100000; i++ {
			x = x*1.0000001 + 1e-9
		}
	}
}

//go:noinline
func allocateALot(stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		default:
		}
		for range 16 {
			b := make([]byte, 4096)
			sink.Store(&b)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestProfileFromAnAdminEndpoint(t *testing.T) {
	a := admin.New()
	if err := a.Listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	stop := make(chan struct{})
	defer close(stop)
	go burnCPU(stop)
	go allocateALot(stop)

	out := filepath.Join(t.TempDir(), "prof")
	summary, err := Profile(context.Background(), Options{Admin: a.Addr(), Seconds: 1, OutDir: out})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"cpu", "heap", "allocs"} {
		f, err := os.Open(filepath.Join(out, name+".pb.gz"))
		if err != nil {
			t.Fatal(err)
		}
		p, err := profile.Parse(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s.pb.gz: %v", name, err)
		}
		if len(p.Sample) == 0 {
			t.Errorf("%s profile has no samples", name)
		}
	}
	written, err := os.ReadFile(filepath.Join(out, "summary.txt"))
	if err != nil || string(written) != summary {
		t.Fatalf("summary.txt: %v", err)
	}
	for _, want := range []string{"== CPU: cpu", "== allocated during the window: alloc_space", "alloc_objects", "== heap in use at the end (after a GC): inuse_space",
		"perf.burnCPU", "perf.allocateALot"} {
		if !strings.Contains(summary, want) {
			t.Errorf("summary lacks %q:\n%s", want, summary)
		}
	}
}

func TestProfileErrors(t *testing.T) {
	if _, err := Profile(context.Background(), Options{Admin: "127.0.0.1:1", Seconds: 0, OutDir: t.TempDir()}); err == nil {
		t.Error("0 seconds accepted")
	}
	// An endpoint without the profiler: a clear error at once.
	ts := httptest.NewServer(http.NotFoundHandler())
	defer ts.Close()
	start := time.Now()
	_, err := Profile(context.Background(), Options{Admin: ts.URL, Seconds: 120, OutDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "404") || !strings.Contains(err.Error(), "/debug/pprof/") {
		t.Errorf("error %v", err)
	}
	// Without the cancel the profiles would take their 120s: half of that
	// tells the two apart however busy the machine.
	if time.Since(start) > time.Minute {
		t.Errorf("failing took %v; the first failure should cancel the rest", time.Since(start))
	}
}

func TestTopFlatCumAndInlining(t *testing.T) {
	fn := func(id uint64, name string) *profile.Function { return &profile.Function{ID: id, Name: name} }
	main, handle, decode, inlined := fn(1, "main"), fn(2, "handle"), fn(3, "decode"), fn(4, "inlinedHelper")
	loc := func(id uint64, fns ...*profile.Function) *profile.Location {
		l := &profile.Location{ID: id}
		for _, f := range fns {
			l.Line = append(l.Line, profile.Line{Function: f})
		}
		return l
	}
	lMain, lHandle, lDecode := loc(1, main), loc(2, handle), loc(3, inlined, decode) // inlinedHelper inlined into decode
	lRaw := &profile.Location{ID: 4, Address: 0xdead}
	p := &profile.Profile{
		SampleType: []*profile.ValueType{{Type: "samples", Unit: "count"}, {Type: "cpu", Unit: "nanoseconds"}},
		Sample: []*profile.Sample{
			{Location: []*profile.Location{lDecode, lHandle, lMain}, Value: []int64{3, 30}},
			{Location: []*profile.Location{lHandle, lMain}, Value: []int64{1, 10}},
			{Location: []*profile.Location{lHandle, lHandle, lMain}, Value: []int64{1, 10}}, // recursion counts once in cum
			{Location: []*profile.Location{lRaw, lMain}, Value: []int64{1, 5}},
		},
	}
	rows, total, err := Top(p, "cpu", 10)
	if err != nil {
		t.Fatal(err)
	}
	if total != 55 {
		t.Errorf("total %d", total)
	}
	want := []Row{{"inlinedHelper", 30, 30}, {"handle", 20, 50}, {"0xdead", 5, 5}, {"main", 0, 55}, {"decode", 0, 30}}
	if len(rows) != len(want) {
		t.Fatalf("rows %+v", rows)
	}
	for i := range want {
		if rows[i] != want[i] {
			t.Errorf("row %d = %+v, want %+v", i, rows[i], want[i])
		}
	}
	if rows, _, _ := Top(p, "cpu", 2); len(rows) != 2 {
		t.Errorf("Top(2) gave %d rows", len(rows))
	}
	if _, _, err := Top(p, "inuse_space", 2); err == nil {
		t.Error("a missing sample type was accepted")
	}
	var b strings.Builder
	if err := writeTop(&b, p, "CPU", "cpu.pb.gz", "cpu", 20); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "54.55%") || !strings.Contains(b.String(), "inlinedHelper") {
		t.Errorf("table:\n%s", b.String())
	}
}

func TestFormatValue(t *testing.T) {
	for _, c := range []struct {
		v    int64
		unit string
		want string
	}{
		{1500 * int64(time.Millisecond), "nanoseconds", "1.5s"},
		{512, "bytes", "512B"},
		{3 << 10, "bytes", "3.0KiB"},
		{5 << 20, "bytes", "5.00MiB"},
		{42, "count", "42"},
	} {
		if got := formatValue(c.v, c.unit); got != c.want {
			t.Errorf("formatValue(%d, %s) = %q, want %q", c.v, c.unit, got, c.want)
		}
	}
}
