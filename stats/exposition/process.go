package exposition

import (
	"bytes"
	"io"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
)

// The process families, under the names Prometheus' own client libraries
// give them, so that dashboards written for other Go servers read them too.
const (
	ResidentMemory = "process_resident_memory_bytes"
	HeapInuse      = "go_memstats_heap_inuse_bytes"
	Goroutines     = "go_goroutines"
)

// heapSamples are the runtime/metrics whose sum is the heap in use
// (runtime.MemStats.HeapInuse), read without stopping the world.
var heapSamples = []string{"/memory/classes/heap/objects:bytes", "/memory/classes/heap/unused:bytes"}

// WriteProcess writes the process' resident memory (from /proc/self/statm:
// omitted where there is none), the Go heap in use and the goroutines.
// It stops no goroutine and costs a few microseconds.
func WriteProcess(w io.Writer) {
	var b []byte
	if rss, ok := residentBytes(); ok {
		b = header(b, ResidentMemory, "gauge", "Resident memory size in bytes (/proc/self/statm).")
		b = append(b, ResidentMemory+" "...)
		b = strconv.AppendUint(b, rss, 10)
		b = append(b, '\n')
	}
	samples := make([]metrics.Sample, len(heapSamples))
	for i, name := range heapSamples {
		samples[i].Name = name
	}
	metrics.Read(samples)
	var heap uint64
	for _, s := range samples {
		if s.Value.Kind() == metrics.KindUint64 {
			heap += s.Value.Uint64()
		}
	}
	b = header(b, HeapInuse, "gauge", "Bytes in in-use spans of the Go heap (runtime.MemStats.HeapInuse).")
	b = append(b, HeapInuse+" "...)
	b = strconv.AppendUint(b, heap, 10)
	b = append(b, '\n')
	b = header(b, Goroutines, "gauge", "Goroutines that currently exist.")
	b = append(b, Goroutines+" "...)
	b = strconv.AppendInt(b, int64(runtime.NumGoroutine()), 10)
	b = append(b, '\n')
	_, _ = w.Write(b)
}

// residentBytes reads the resident set size on Linux.
func residentBytes() (uint64, bool) {
	raw, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0, false
	}
	fields := bytes.Fields(raw)
	if len(fields) < 2 {
		return 0, false
	}
	pages, err := strconv.ParseUint(string(fields[1]), 10, 64)
	if err != nil {
		return 0, false
	}
	return pages * uint64(os.Getpagesize()), true
}
