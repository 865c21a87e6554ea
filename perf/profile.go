package perf

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/google/pprof/profile"
)

// Options say where to profile and where to write.
type Options struct {
	// Admin is the sidecar's admin address: host:port or http://host:port.
	Admin string
	// Seconds is how long the CPU profile and the allocation window last.
	Seconds int
	// OutDir receives cpu.pb.gz, heap.pb.gz, allocs.pb.gz and summary.txt;
	// it is created if needed.
	OutDir string
	// Top is how many functions each summary table lists (default 20).
	Top int
	// Client makes the requests (default: a client without a timeout; the
	// context bounds every request).
	Client *http.Client
}

// Profile captures, from a running sidecar, the CPU profile of the next
// opts.Seconds seconds, the allocations made in the same window, and the
// heap in use at its end. It writes DIR/cpu.pb.gz, DIR/allocs.pb.gz and
// DIR/heap.pb.gz, which go tool pprof reads, and DIR/summary.txt with the
// top functions of each, and returns the summary.
//
// Allocations: the runtime publishes allocation samples at garbage
// collections, so Profile reads the heap profile right after a forced GC
// at the start and at the end of the window (/debug/pprof/heap?gc=1) and
// subtracts: the allocs profile holds exactly what was allocated between
// the two collections. (allocs?seconds=N would end at whatever GC last
// ran, and show nothing at all for a sidecar that rarely collects.)
func Profile(ctx context.Context, opts Options) (string, error) {
	if opts.Seconds < 1 {
		return "", errors.New("perf: the profile must last at least 1 second")
	}
	if opts.Top <= 0 {
		opts.Top = 20
	}
	if opts.Client == nil {
		opts.Client = &http.Client{}
	}
	base := strings.TrimSuffix(opts.Admin, "/")
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	base += "/debug/pprof/"
	if err := os.MkdirAll(opts.OutDir, 0o755); err != nil {
		return "", fmt.Errorf("perf: %w", err)
	}
	window := time.Duration(opts.Seconds) * time.Second

	// The first failure cancels the rest.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		data []byte
		err  error
	}
	cpuDone := make(chan result, 1)
	start := time.Now()
	go func() {
		data, err := get(ctx, opts.Client, base+"profile?seconds="+strconv.Itoa(opts.Seconds))
		if err != nil {
			cancel()
		}
		cpuDone <- result{data, err}
	}()
	heaps, err := heapsAround(ctx, opts.Client, base, start, window)
	if err != nil {
		cancel()
	}
	cpu := <-cpuDone
	if cpu.err != nil && (err == nil || errors.Is(err, context.Canceled)) {
		err = cpu.err
	}
	if err != nil {
		return "", err
	}

	cpuProf, err := profile.ParseData(cpu.data)
	if err != nil {
		return "", fmt.Errorf("perf: the CPU profile from %s does not parse: %w", opts.Admin, err)
	}
	var parsed [2]*profile.Profile
	for i, h := range heaps {
		if parsed[i], err = profile.ParseData(h); err != nil {
			return "", fmt.Errorf("perf: the heap profile from %s does not parse: %w", opts.Admin, err)
		}
	}
	allocs, err := allocatedBetween(parsed[0], parsed[1])
	if err != nil {
		return "", fmt.Errorf("perf: %w", err)
	}
	var allocsData bytes.Buffer
	if err := allocs.Write(&allocsData); err != nil {
		return "", fmt.Errorf("perf: %w", err)
	}

	var sum strings.Builder
	fmt.Fprintf(&sum, "octomesh perf profile: %s, %v window from %s\n", opts.Admin, window, start.Format(time.RFC3339))
	for _, out := range []struct {
		name, title string
		data        []byte
		p           *profile.Profile
		sampleTypes []string
	}{
		{"cpu", "CPU", cpu.data, cpuProf, []string{"cpu"}},
		{"allocs", "allocated during the window", allocsData.Bytes(), allocs, []string{"alloc_space", "alloc_objects"}},
		{"heap", "heap in use at the end (after a GC)", heaps[1], parsed[1], []string{"inuse_space"}},
	} {
		file := filepath.Join(opts.OutDir, out.name+".pb.gz")
		if err := os.WriteFile(file, out.data, 0o644); err != nil {
			return "", fmt.Errorf("perf: %w", err)
		}
		for _, st := range out.sampleTypes {
			if err := writeTop(&sum, out.p, out.title, file, st, opts.Top); err != nil {
				return "", fmt.Errorf("perf: %s profile: %w", out.name, err)
			}
		}
	}
	summary := sum.String()
	if err := os.WriteFile(filepath.Join(opts.OutDir, "summary.txt"), []byte(summary), 0o644); err != nil {
		return "", fmt.Errorf("perf: %w", err)
	}
	return summary, nil
}

// heapsAround reads the heap profile after a forced GC at start and again
// once the window has passed.
func heapsAround(ctx context.Context, c *http.Client, base string, start time.Time, window time.Duration) ([2][]byte, error) {
	var heaps [2][]byte
	var err error
	if heaps[0], err = get(ctx, c, base+"heap?gc=1"); err != nil {
		return heaps, err
	}
	t := time.NewTimer(time.Until(start.Add(window)))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return heaps, fmt.Errorf("perf: %w", ctx.Err())
	case <-t.C:
	}
	heaps[1], err = get(ctx, c, base+"heap?gc=1")
	return heaps, err
}

// allocatedBetween is the difference of two heap profiles: what was
// allocated between them (alloc_space, alloc_objects, the default) and how
// the heap in use changed (inuse_space, inuse_objects).
func allocatedBetween(before, after *profile.Profile) (*profile.Profile, error) {
	before = before.Copy()
	before.Scale(-1)
	d, err := profile.Merge([]*profile.Profile{before, after})
	if err != nil {
		return nil, fmt.Errorf("subtracting heap profiles: %w", err)
	}
	d.TimeNanos = after.TimeNanos
	d.DurationNanos = after.TimeNanos - before.TimeNanos
	d.DefaultSampleType = "alloc_space"
	return d, nil
}

// get fetches one profile.
func get(ctx context.Context, c *http.Client, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("perf: %w", err)
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("perf: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("perf: GET %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("perf: GET %s: %s: %s", url, resp.Status, strings.TrimSpace(string(body)))
	}
	return body, nil
}
