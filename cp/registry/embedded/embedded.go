// Package embedded runs the registry's etcd inside the pilot's process:
// the default store when no external etcd cluster is given. It is a
// single-member cluster whose data lives in a directory, so registrations
// and leases survive a pilot restart.
//
// embedded starts the etcd server only; clients (the pilot's Diplomat) reach
// it over its client URL like any etcd cluster. It must never import
// proxy/... or another cp/... package.
package embedded

import (
	"context"
	"errors"
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

// Options configure the embedded etcd.
type Options struct {
	// Dir is the data directory; it is created if missing.
	Dir string
	// ClientAddress is where clients connect: host:port; port 0 (the
	// default, on 127.0.0.1) picks a free one.
	ClientAddress string
	// LogLevel is etcd's own log level (debug, info, warn, error);
	// default error.
	LogLevel string
	// Log receives etcd's log lines (JSON); default os.Stderr. Lines
	// logged while Close shuts etcd down are dropped: etcd reports its
	// own listeners closing as errors.
	Log io.Writer
	// StartTimeout bounds the wait for the member to serve; default 30s.
	StartTimeout time.Duration
}

// Server is a running embedded etcd.
type Server struct {
	etcd     *embed.Etcd
	endpoint string
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

// Start starts etcd and waits until it serves clients.
func Start(opts Options) (*Server, error) {
	if opts.Dir == "" {
		return nil, errors.New("embedded etcd: a data directory is needed")
	}
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("embedded etcd: %w", err)
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("embedded etcd: %w", err)
	}
	client := opts.ClientAddress
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
	level := zapcore.ErrorLevel
	if opts.LogLevel != "" {
		if err := level.UnmarshalText([]byte(opts.LogLevel)); err != nil {
			return nil, fmt.Errorf("embedded etcd: log level %q: %w", opts.LogLevel, err)
		}
	}
	out := &muteWriter{w: opts.Log}
	if out.w == nil {
		out.w = os.Stderr
	}
	lg := zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(out), level))
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(lg)
	// Keep an hour of history for watchers that reconnect, then compact.
	cfg.AutoCompactionMode = "periodic"
	cfg.AutoCompactionRetention = "1h"
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, fmt.Errorf("embedded etcd: %w", err)
	}
	timeout := opts.StartTimeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		e.Close()
		return nil, fmt.Errorf("embedded etcd: %w", err)
	case <-time.After(timeout):
		e.Server.Stop()
		e.Close()
		return nil, fmt.Errorf("embedded etcd: not ready after %s", timeout)
	}
	return &Server{etcd: e, endpoint: e.Clients[0].Addr().String(), log: out}, nil
}

// Endpoint is the address an etcd client dials: host:port.
func (s *Server) Endpoint() string { return s.endpoint }

// Err reports a fatal error of the running server.
func (s *Server) Err() <-chan error { return s.etcd.Err() }

// Close stops etcd; data stays in the directory.
func (s *Server) Close(ctx context.Context) {
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
