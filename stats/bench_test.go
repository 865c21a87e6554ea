package stats

import (
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkCounter compares a striped Counter with one shared atomic, with
// one goroutine and with many adding at once.
func BenchmarkCounter(b *testing.B) {
	b.Run("striped", func(b *testing.B) {
		var c Counter
		b.ReportAllocs()
		for b.Loop() {
			c.Add(1)
		}
	})
	b.Run("striped/parallel", func(b *testing.B) {
		var c Counter
		b.ReportAllocs()
		b.SetParallelism(8)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				c.Add(1)
			}
		})
	})
	b.Run("atomic", func(b *testing.B) {
		var c atomic.Uint64
		for b.Loop() {
			c.Add(1)
		}
	})
	b.Run("atomic/parallel", func(b *testing.B) {
		var c atomic.Uint64
		b.SetParallelism(8)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				c.Add(1)
			}
		})
	})
}

func BenchmarkHistogram(b *testing.B) {
	b.Run("record", func(b *testing.B) {
		var h Histogram
		b.ReportAllocs()
		d := 37 * time.Microsecond
		for b.Loop() {
			h.Record(d)
			d += 13
		}
	})
	b.Run("record/parallel", func(b *testing.B) {
		var h Histogram
		b.ReportAllocs()
		b.SetParallelism(8)
		b.RunParallel(func(pb *testing.PB) {
			d := 37 * time.Microsecond
			for pb.Next() {
				h.Record(d)
				d += 13
			}
		})
	})
	b.Run("snapshot", func(b *testing.B) {
		var h Histogram
		h.Record(1)
		b.ReportAllocs()
		for b.Loop() {
			s := h.Snapshot()
			_ = s.Quantile(0.99)
		}
	})
}
