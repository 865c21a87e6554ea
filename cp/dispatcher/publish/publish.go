package publish

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/octomesh/octomesh/api/rules"
)

// Publisher publishes notices to the dispatcher's JetStream stream: what
// the rule store and the scanners use, and any Go program that changes
// what a pilot serves. A notice is kept in the stream until the dispatcher
// has forwarded it, so a dispatcher that is down meanwhile loses none.
type Publisher struct {
	nc  *nats.Conn
	own bool
	js  jetstream.JetStream
	// Published counts notices the stream acknowledged; Errors those it
	// did not (NATS away, no stream).
	Published, Errors atomic.Uint64
}

// NewPublisher connects to the NATS at url (nats://host:port, or a comma
// separated list), over TLS when tlsCfg is set. It does not wait for NATS: while it is away Publish
// fails (and the dispatcher's back-check repairs what was not published),
// and the connection comes back by itself.
func NewPublisher(url, name string, tlsCfg *tls.Config) (*Publisher, error) {
	if name == "" {
		name = "octomesh-publisher"
	}
	nc, err := nats.Connect(url, nats.Name(name), nats.RetryOnFailedConnect(true), nats.MaxReconnects(-1), nats.ReconnectWait(250*time.Millisecond), Secure(tlsCfg))
	if err != nil {
		return nil, fmt.Errorf("publisher: nats %s: %w", url, err)
	}
	p, err := NewPublisherConn(nc)
	if err != nil {
		nc.Close()
		return nil, err
	}
	p.own = true
	return p, nil
}

// Secure is the NATS option that makes a connection TLS with cfg (an
// external NATS's certificates, api/ca.ExternalTLS), or none without it.
func Secure(cfg *tls.Config) nats.Option {
	if cfg == nil {
		return func(*nats.Options) error { return nil }
	}
	return nats.Secure(cfg)
}

// NewPublisherConn publishes on a connection the caller holds (and closes).
func NewPublisherConn(nc *nats.Conn) (*Publisher, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("publisher: jetstream: %w", err)
	}
	return &Publisher{nc: nc, js: js}, nil
}

// Publish validates n and publishes it on rules.NoticeSubject(n.Kind),
// waiting (at most until ctx ends; 5s without a deadline) for the stream
// to store it. If the stream does not exist yet (no dispatcher has ever run
// on this NATS), it is created.
func (p *Publisher) Publish(ctx context.Context, n rules.Notice) error {
	if err := n.Validate(); err != nil {
		return err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
	}
	b, err := json.Marshal(n)
	if err != nil {
		return err
	}
	_, err = p.js.Publish(ctx, rules.NoticeSubject(n.Kind), b)
	if errors.Is(err, jetstream.ErrNoStreamResponse) || errors.Is(err, nats.ErrNoResponders) {
		if err = EnsureStream(ctx, p.js); err == nil {
			_, err = p.js.Publish(ctx, rules.NoticeSubject(n.Kind), b)
		}
	}
	if err != nil {
		p.Errors.Add(1)
		return fmt.Errorf("publish %s notice %q: %w", n.Kind, n.Key, err)
	}
	p.Published.Add(1)
	return nil
}

// Close closes the connection if NewPublisher opened it.
func (p *Publisher) Close() {
	if p.own {
		p.nc.Close()
	}
}

// streamConfig is the notices stream: file storage, every notice of the
// last day (the pilot fetches values, so a notice delivered again is
// harmless; one a day old is long repaired by the back-check).
func streamConfig() jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        rules.Stream,
		Description: "OctoMesh change notices {kind, key, revision}; the dispatcher forwards them to the pilots",
		Subjects:    []string{rules.NoticeSubjects},
		Retention:   jetstream.LimitsPolicy,
		Storage:     jetstream.FileStorage,
		Discard:     jetstream.DiscardOld,
		MaxAge:      24 * time.Hour,
		MaxBytes:    1 << 30,
	}
}

// EnsureStream creates the notices stream if it does not exist (it leaves
// an existing one as it is: an operator may have tuned its limits).
func EnsureStream(ctx context.Context, js jetstream.JetStream) error {
	if _, err := js.Stream(ctx, rules.Stream); err == nil {
		return nil
	} else if !errors.Is(err, jetstream.ErrStreamNotFound) {
		return fmt.Errorf("stream %s: %w", rules.Stream, err)
	}
	_, err := js.CreateStream(ctx, streamConfig())
	if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("create stream %s: %w", rules.Stream, err)
	}
	return nil
}
