package lb

import (
	"strconv"
	"testing"
	"time"
)

func benchBalancers() []Balancer {
	return []Balancer{roundRobin{}, p2cPeakEWMA{}, ringHash{}, maglev{}, Locality(roundRobin{}), Locality(ringHash{})}
}

// benchEndpoints: weights 1..5, three zones, and latency samples in every
// Load so that p2c compares real costs.
func benchEndpoints(n int) []Endpoint {
	eps := makeEndpoints(n, func(i int) uint32 { return uint32(1 + i%5) })
	for i := range eps {
		eps[i].Load.Begin()
		eps[i].Load.End(time.Duration(1+i%7)*time.Millisecond, false)
	}
	return eps
}

var benchOptions = Options{LocalZone: "z1", PanicThreshold: 0.5}

// BenchmarkPick runs Pick from all Ps at once, as the sidecar's event loops
// do. Keyed balancers get a rotating set of 1024 keys.
func BenchmarkPick(b *testing.B) {
	keys := makeKeys(1024)
	for _, bal := range benchBalancers() {
		for _, n := range []int{10, 100, 10000} {
			b.Run(bal.Name()+"/"+strconv.Itoa(n), func(b *testing.B) {
				eps := benchEndpoints(n)
				p := mustBuild(b, bal, eps, benchOptions)
				b.ReportAllocs()
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					i := 0
					for pb.Next() {
						if p.Pick(keys[i&1023]) < 0 {
							b.Error("no endpoint")
						}
						i++
					}
				})
			})
		}
	}
}

func BenchmarkBuild(b *testing.B) {
	eps := benchEndpoints(10000)
	for _, bal := range benchBalancers() {
		b.Run(bal.Name()+"/10000", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := bal.Build(eps, benchOptions); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
