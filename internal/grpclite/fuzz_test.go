package grpclite

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// FuzzConn feeds a connection arbitrary bytes after the client preface:
// the server must not panic, and must end the connection once the bytes
// end.
func FuzzConn(f *testing.F) {
	var seed bytes.Buffer
	fr := http2.NewFramer(&seed, nil)
	_ = fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1 << 20})
	_ = fr.WriteWindowUpdate(0, 1<<20)
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	for _, h := range [][2]string{{":method", "POST"}, {":scheme", "http"}, {":path", testPath}, {":authority", "x"}, {"content-type", "application/grpc"}, {"x-bin", "AAEC"}} {
		_ = enc.WriteField(hpack.HeaderField{Name: h[0], Value: h[1]})
	}
	_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: hb.Bytes(), EndHeaders: true})
	_ = fr.WriteData(1, false, []byte{0, 0, 0, 0, 3, 'a', 'b'})
	_ = fr.WriteData(1, false, []byte{'c', 0, 0, 0, 0, 1})
	_ = fr.WritePing(false, [8]byte{1})
	_ = fr.WriteData(1, true, []byte{'d'})
	f.Add(seed.Bytes())
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, in []byte) {
		s := NewServer(Options{Path: testPath, Open: func(st *Stream) (Handler, error) { return &echo{st: st}, nil }})
		_ = s.Fallback().Close() // connections of other methods are closed
		client, server := net.Pipe()
		done := make(chan struct{})
		go func() { s.serveConn(server); close(done) }()
		go func() { _, _ = io.Copy(io.Discard, client) }()
		_, _ = client.Write([]byte(http2.ClientPreface))
		_, _ = client.Write(in)
		_ = client.Close()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("the connection did not end with its bytes")
		}
	})
}
