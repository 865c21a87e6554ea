package mocksidecar_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	metaserver "github.com/octomesh/octomesh/cp/meta"
	"github.com/octomesh/octomesh/cp/mocksidecar"
	"github.com/octomesh/octomesh/cp/pilot"
	"github.com/octomesh/octomesh/cp/scanner"
	"github.com/octomesh/octomesh/cp/scanner/scannertest"
)

// cluster is the control plane the suite runs against, in this process:
// Meta with an embedded etcd, three shard pilots (lease TTL 30s: a pilot
// that dies moves its apps only because Meta evicts it), a scanner
// (period 200ms) that checks the instances of zone "hc" only (the other
// scripts' instances have no sidecar to answer), and the fake sidecars
// scripts start for it to check.
type cluster struct {
	t       *testing.T
	meta    *metaserver.Server
	scanner *scanner.Scanner
	mu      sync.Mutex
	pilots  map[string]*pilot.Pilot
	fakes   map[string]*scannertest.Sidecar
}

func startCluster(t *testing.T, n int) *cluster {
	t.Helper()
	dir, err := os.MkdirTemp("", "om-mock")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	m, err := metaserver.Start(metaserver.Options{HTTPAddress: "127.0.0.1:0", DataDir: dir, Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	c := &cluster{t: t, meta: m, pilots: map[string]*pilot.Pilot{}, fakes: map[string]*scannertest.Sidecar{}}
	t.Cleanup(func() {
		c.mu.Lock()
		for _, p := range c.pilots {
			p.Close()
		}
		for _, f := range c.fakes {
			f.Kill()
		}
		c.mu.Unlock()
		if c.scanner != nil {
			c.scanner.Close()
		}
		m.Close()
	})
	c.scanner, err = scanner.Start(scanner.Options{ID: "s1", Zone: "hc", HTTPAddress: "127.0.0.1:0", EtcdEndpoints: []string{m.Addrs().Etcd},
		LeaseTTL: 2 * time.Second, Period: 200 * time.Millisecond, Timeout: 200 * time.Millisecond, Fall: 2, Rise: 2, Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if _, err := c.start(fmt.Sprintf("p%d", i+1)); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(m.View.Current().Pilots) < n {
		if time.Now().After(deadline) {
			t.Fatal("the pilots did not all join")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return c
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// suiteLeaseTTL is the pilots' membership lease: longer than any wait in
// the scripts, so that a killed pilot's apps can move before it runs out
// only through Meta's eviction (cp/meta, deaths.go).
const suiteLeaseTTL = 30 * time.Second

func (c *cluster) start(id string) (*pilot.Pilot, error) {
	p, err := pilot.Start(pilot.Options{XDSAddress: "127.0.0.1:0", HTTPAddress: "127.0.0.1:0", EtcdEndpoints: []string{c.meta.Addrs().Etcd},
		Shard: &pilot.ShardOptions{ID: id, LeaseTTL: suiteLeaseTTL}, Log: quiet})
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.pilots[id] = p
	c.mu.Unlock()
	return p, nil
}

// take removes the pilot that owns app from the cluster.
func (c *cluster) take(app string) (string, *pilot.Pilot, error) {
	id, ok := c.meta.View.Current().Owner[app]
	if !ok {
		return "", nil, fmt.Errorf("no owner for %s", app)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.pilots[id]
	delete(c.pilots, id)
	if p == nil {
		return "", nil, fmt.Errorf("pilot %s is not running", id)
	}
	return id, p, nil
}

func (c *cluster) controls() map[string]mocksidecar.Control {
	return map[string]mocksidecar.Control{
		// kill-owner {app}: the app's pilot stops without draining (its
		// lease runs out); returns {killed: id}.
		"kill-owner": func(_ context.Context, args map[string]string) (map[string]string, error) {
			id, p, err := c.take(args["app"])
			if err != nil {
				return nil, err
			}
			p.Close()
			return map[string]string{"killed": id}, nil
		},
		// drain-owner {app}: the app's pilot drains and stops; returns
		// {drained: id}.
		"drain-owner": func(ctx context.Context, args map[string]string) (map[string]string, error) {
			id, p, err := c.take(args["app"])
			if err != nil {
				return nil, err
			}
			dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			err = p.Drain(dctx)
			p.Close()
			return map[string]string{"drained": id}, err
		},
		// fake-sidecar {address}: a fake sidecar answering the scanner's
		// health frames at address (a loopback host:port).
		"fake-sidecar": func(_ context.Context, args map[string]string) (map[string]string, error) {
			f, err := scannertest.Start(args["address"])
			if err != nil {
				return nil, err
			}
			c.mu.Lock()
			c.fakes[f.Addr()] = f
			c.mu.Unlock()
			return nil, nil
		},
		// sidecar-mode {address, mode}: the fake sidecar at address answers
		// ok, fail, or nothing (silent: frozen) from now on; dead kills it.
		"sidecar-mode": func(_ context.Context, args map[string]string) (map[string]string, error) {
			c.mu.Lock()
			f := c.fakes[args["address"]]
			c.mu.Unlock()
			if f == nil {
				return nil, fmt.Errorf("no fake sidecar at %q", args["address"])
			}
			switch args["mode"] {
			case "ok":
				f.SetMode(scannertest.OK)
			case "fail":
				f.SetMode(scannertest.Fail)
			case "silent":
				f.SetMode(scannertest.Silent)
			case "dead":
				f.Kill()
			default:
				return nil, fmt.Errorf("mode %q: want ok, fail, silent or dead", args["mode"])
			}
			return nil, nil
		},
		// evicted {pilot}: Meta evicted that pilot (found it refusing
		// connections) rather than waiting for its lease; an error if it
		// has not within 10s.
		"evicted": func(ctx context.Context, args map[string]string) (map[string]string, error) {
			ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			for c.meta.Deaths.Evictions.Load() == 0 { // counted once the revoke returns
				if ctx.Err() != nil {
					return nil, fmt.Errorf("meta evicted no pilot (%s was killed; lease %s)", args["pilot"], suiteLeaseTTL)
				}
				time.Sleep(10 * time.Millisecond)
			}
			if _, ok := c.meta.View.Current().Pilots[args["pilot"]]; ok {
				return nil, fmt.Errorf("pilot %s was killed and evicted, but Meta still counts it", args["pilot"])
			}
			return nil, nil
		},
		// start-pilot {pilot}: a pilot with that id starts.
		"start-pilot": func(_ context.Context, args map[string]string) (map[string]string, error) {
			_, err := c.start(args["pilot"])
			return nil, err
		},
	}
}

// TestRegressionSuite runs every script in testdata against a fresh
// control plane, on each transport (lean.go).
func TestRegressionSuite(t *testing.T) {
	files, err := filepath.Glob("testdata/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scripts: %v", err)
	}
	sort.Strings(files)
	for _, file := range files {
		for _, tr := range []string{mocksidecar.TransportLean, mocksidecar.TransportGRPC} {
			t.Run(strings.TrimSuffix(filepath.Base(file), ".yaml")+"/"+tr, func(t *testing.T) {
				script, err := mocksidecar.Load(file)
				if err != nil {
					t.Fatal(err)
				}
				c := startCluster(t, 3)
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				defer cancel()
				c.mu.Lock()
				first := c.pilots["p1"].Addrs().XDS
				c.mu.Unlock()
				rep, err := mocksidecar.Run(ctx, script, mocksidecar.Options{Meta: c.meta.Addrs().HTTP, Count: script.Count,
					Controls: c.controls(), Vars: map[string]string{"first_pilot": first}, Transport: tr, Log: quiet})
				if err != nil {
					t.Fatal(err)
				}
				var out bytes.Buffer
				rep.Write(&out)
				t.Log("\n" + out.String())
				if !rep.OK() {
					t.Fatal("the script failed")
				}
			})
		}
	}
}

// The scale runs' scripts parse (the runs themselves are
// cp/mocksidecar/scale/run.sh and cp/scanner/scale/run.sh).
func TestScaleScriptsParse(t *testing.T) {
	files, _ := filepath.Glob("scale/*.yaml")
	if len(files) == 0 {
		t.Fatal("no scale scripts")
	}
	more, _ := filepath.Glob("../scanner/scale/*.yaml") // absent under Bazel unless given as data
	for _, f := range append(files, more...) {
		if _, err := mocksidecar.Load(f); err != nil {
			t.Error(err)
		}
	}
}
