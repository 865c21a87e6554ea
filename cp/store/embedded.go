package store

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// embedded is etcd run inside the control plane's process: the default
// when no external etcd cluster is given. It is a single-member cluster
// whose data lives in a directory, so registrations and leases survive a
// restart. Clients reach it over its client URL like any etcd cluster.
type embedded struct {
	etcd     *embed.Etcd
	endpoint string // host:port
	log      *muteWriter
}

// muteWriter passes writes on until muted.
type muteWriter struct {
	w     io.Writer
	muted atomic.Bool
}

func (m *muteWriter) Write(p []byte) (int, error) {
	if m.muted.Load() {
		return len(p), nil
	}
	return m.w.Write(p)
}

// embeddedMaxTxnOps is the embedded etcd's --max-txn-ops.
const embeddedMaxTxnOps = 1024

// embeddedStartTimeout bounds the wait for the member to serve.
const embeddedStartTimeout = 30 * time.Second

// startEmbedded starts etcd with its data in dir, serving clients at
// client (host:port; empty: 127.0.0.1:0), and waits until it serves. etcd
// logs errors only, as JSON lines to stderr.
func startEmbedded(dir, client string) (*embedded, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("embedded etcd: %w", err)
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("embedded etcd: %w", err)
	}
	if client == "" {
		client = "127.0.0.1:0"
	}
	curl, err := url.Parse("http://" + client)
	if err != nil || curl.Port() == "" {
		return nil, fmt.Errorf("embedded etcd: client address %q is not host:port", client)
	}
	// The peer URL is never dialled (there is one member), but etcd
	// listens on it: any free loopback port.
	purl := url.URL{Scheme: "http", Host: "127.0.0.1:0"}
	cfg := embed.NewConfig()
	cfg.Name = "octomesh-pilot"
	cfg.Dir = dir
	cfg.ListenClientUrls = []url.URL{*curl}
	cfg.AdvertiseClientUrls = []url.URL{*curl}
	cfg.ListenPeerUrls = []url.URL{purl}
	cfg.AdvertisePeerUrls = []url.URL{purl}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	// Lines logged while close shuts etcd down are dropped: etcd reports
	// its own listeners closing as errors.
	out := &muteWriter{w: os.Stderr}
	lg := zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(out), zapcore.ErrorLevel))
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(lg)
	// Keep an hour of history for watchers that reconnect, then compact.
	cfg.AutoCompactionMode = "periodic"
	cfg.AutoCompactionRetention = "1h"
	// A rule store write is one transaction: its documents, their
	// history and the compiled keys (Store.Commit).
	cfg.MaxTxnOps = embeddedMaxTxnOps
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, fmt.Errorf("embedded etcd: %w", err)
	}
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		e.Close()
		return nil, fmt.Errorf("embedded etcd: %w", err)
	case <-time.After(embeddedStartTimeout):
		e.Server.Stop()
		e.Close()
		return nil, fmt.Errorf("embedded etcd: not ready after %s", embeddedStartTimeout)
	}
	return &embedded{etcd: e, endpoint: e.Clients[0].Addr().String(), log: out}, nil
}

// close stops etcd, waiting at most until ctx ends; data stays in the
// directory.
func (s *embedded) close(ctx context.Context) {
	s.log.muted.Store(true)
	done := make(chan struct{})
	go func() {
		s.etcd.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
	}
}
