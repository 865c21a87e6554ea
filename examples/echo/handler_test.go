package echo_test

import (
	"context"
	"sync"
	"testing"

	"github.com/octomesh/octomesh/examples/echo"
	echogen "github.com/octomesh/octomesh/examples/echo/kitex_gen/echo"
)

func TestHandlerEchoes(t *testing.T) {
	h := echo.NewHandler("h1")
	resp, err := h.Echo(context.Background(), &echogen.EchoRequest{Id: 7, Payload: []byte("abc")})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Id != 7 || string(resp.Payload) != "abc" || resp.Server != "h1" {
		t.Fatalf("response %v", resp)
	}
	if _, err := h.Echo(context.Background(), nil); err == nil {
		t.Fatal("nil request answered")
	}
	if h.Total() != 1 {
		t.Fatalf("total %d after one valid request", h.Total())
	}
}

func TestHandlerCounts(t *testing.T) {
	h := echo.NewHandler("h")
	// ids 0..999 once each, ids 0..99 a second time and 0..9 a third,
	// from concurrent callers.
	const workers = 8
	var ids []int64
	for id := range int64(1000) {
		ids = append(ids, id)
	}
	for id := range int64(100) {
		ids = append(ids, id)
	}
	for id := range int64(10) {
		ids = append(ids, id)
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(ids); i += workers {
				if _, err := h.Echo(context.Background(), &echogen.EchoRequest{Id: ids[i]}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()

	if got := h.Total(); got != int64(len(ids)) {
		t.Errorf("Total = %d, want %d", got, len(ids))
	}
	if got := h.DistinctIDs(); got != 1000 {
		t.Errorf("DistinctIDs = %d, want 1000", got)
	}
	if got := h.RepeatedIDs(); got != 100 {
		t.Errorf("RepeatedIDs = %d, want 100", got)
	}
	for _, tc := range []struct{ id, want int64 }{{5, 3}, {50, 2}, {500, 1}, {5000, 0}, {-1, 0}} {
		if got := h.Count(tc.id); got != tc.want {
			t.Errorf("Count(%d) = %d, want %d", tc.id, got, tc.want)
		}
	}
}

func BenchmarkHandlerEcho(b *testing.B) {
	h := echo.NewHandler("h")
	req := &echogen.EchoRequest{Payload: make([]byte, 128)}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		var id int64
		for pb.Next() {
			id++
			req := *req
			req.Id = id
			if _, err := h.Echo(context.Background(), &req); err != nil {
				b.Fatal(err)
			}
		}
	})
}
