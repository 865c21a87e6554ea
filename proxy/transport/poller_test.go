package transport

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// TestChurnKeepsConnectionsApart: connections come and go while others
// are served; slots freed by closed connections are taken by new ones,
// and every answer still reaches the connection that asked.
func TestChurnKeepsConnectionsApart(t *testing.T) {
	l, stats, _ := startEcho(t, "unix")
	const conns, parallel = 300, 8
	errs := make(chan error, conns)
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i := range conns {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			errs <- churnOnce(l.Addr(), i)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "every connection to be closed", func() bool { return stats.Closed.Load() == conns })
	if got := stats.Accepted.Load(); got != conns {
		t.Errorf("accepted %d, want %d", got, conns)
	}
}

// churnOnce opens a connection, exchanges three frames carrying id, and
// closes it.
func churnOnce(addr string, id int) error {
	c, err := net.Dial("unix", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	for k := range 3 {
		f := frameOf(nil, int32(id), 16)
		binary.BigEndian.PutUint64(f[len(f)-16:], uint64(id))
		binary.BigEndian.PutUint64(f[len(f)-8:], uint64(k))
		if _, err := c.Write(f); err != nil {
			return err
		}
		got := make([]byte, len(f))
		if _, err := io.ReadFull(c, got); err != nil {
			return fmt.Errorf("connection %d, frame %d: %w", id, k, err)
		}
		if !bytes.Equal(got, f) {
			return fmt.Errorf("connection %d, frame %d: got another connection's answer", id, k)
		}
	}
	return nil
}
