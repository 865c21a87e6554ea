package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/octomesh/octomesh/api/rules"
)

// Change is one line of --out: one apply.
type Change struct {
	App string `json:"app"`
	// Seq is the change's number (from 0); Due when the schedule wanted
	// it sent, Stamp when it was (the cluster's stamp), Done when the
	// apply answered: Unix ns.
	Seq      int    `json:"seq"`
	Due      int64  `json:"due_ns"`
	Stamp    int64  `json:"stamp_ns"`
	Done     int64  `json:"done_ns"`
	Revision int64  `json:"revision,omitempty"`
	Action   string `json:"action,omitempty"`
	Err      string `json:"error,omitempty"`
}

// Summary is what --summary writes (and the driver prints).
type Summary struct {
	Changes int `json:"changes"`
	Errors  int `json:"errors"`
	// Rate is the changes sent per second over the run; Apply the apply
	// latency (send to answer) percentiles in ms; MaxLag the longest a
	// change waited past its due time (ms): the driver fell behind.
	Rate    float64            `json:"rate"`
	Apply   map[string]float64 `json:"apply_ms"`
	MaxLag  float64            `json:"max_lag_ms"`
	Seconds float64            `json:"seconds"`
}

func appName(format string, a int) string { return fmt.Sprintf(format, a) }

// routeDoc is app's Route document: its calls to service go to cluster
// "<service>.t<stamp>", or to service itself when stamp is 0.
func routeDoc(app, service string, stamp int64) string {
	cluster := service
	if stamp != 0 {
		cluster = fmt.Sprintf("%s.t%d", service, stamp)
	}
	return fmt.Sprintf("kind: Route\nmetadata: {name: scale-%s}\ntarget: {app: %s, service: %s}\nspec: {cluster: %s}\n", app, app, service, cluster)
}

// percentiles of xs (sorted in place), in ms.
func percentiles(xs []time.Duration) map[string]float64 {
	out := map[string]float64{}
	if len(xs) == 0 {
		return out
	}
	slices.Sort(xs)
	at := func(q float64) float64 {
		return float64(xs[min(len(xs)-1, int(q*float64(len(xs))))]) / 1e6
	}
	out["p50"], out["p90"], out["p99"], out["max"] = at(.5), at(.9), at(.99), float64(xs[len(xs)-1])/1e6
	return out
}

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "driver:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("driver", flag.ContinueOnError)
	server := fs.String("server", "127.0.0.1:15050", "the rule API (the dispatcher's operator API)")
	tokenFile := fs.String("token-file", "", "the operator token (<dispatcher data-dir>/operator.token)")
	apps := fs.Int("apps", 1000, "apps app-0 ... app-(N-1) (see --app-format); change k goes to app k mod N")
	format := fs.String("app-format", "app-%d", "the apps' names (a printf format of the app's number)")
	service := fs.String("service", "echo", "the service each app's Route is for")
	seed := fs.Bool("seed", false, "apply one unstamped Route per app (in files of --batch documents) and exit")
	batch := fs.Int("batch", 200, "with --seed: documents per apply")
	rate := fs.Float64("rate", 100, "changes per second")
	duration := fs.Duration("duration", time.Minute, "how long to send changes")
	inflight := fs.Int("inflight", 64, "applies in flight at most (the driver falls behind beyond that: max_lag_ms)")
	out := fs.String("out", "", "write one JSON line per change here")
	summary := fs.String("summary", "", "write the summary as JSON here")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case *tokenFile == "":
		return errors.New("--token-file: required (writes need the operator token)")
	case *apps < 1:
		return fmt.Errorf("--apps %d: must be at least 1", *apps)
	case *rate <= 0 || *rate > 10000:
		return fmt.Errorf("--rate %v: must be in (0, 10000]", *rate)
	case *duration <= 0 || *duration > time.Hour:
		return fmt.Errorf("--duration %v: must be in (0, 1h]", *duration)
	case *inflight < 1:
		return fmt.Errorf("--inflight %d: must be at least 1", *inflight)
	case *batch < 1 || *batch > 250:
		return fmt.Errorf("--batch %d: must be 1-250 (one etcd transaction)", *batch)
	}
	tok, err := os.ReadFile(*tokenFile)
	if err != nil {
		return fmt.Errorf("--token-file: %w", err)
	}
	c, err := rules.NewClient(*server, strings.TrimSpace(string(tok)))
	if err != nil {
		return err
	}
	defer c.Close()
	if *seed {
		return seedApps(c, *apps, *batch, *format, *service)
	}
	return drive(c, *apps, *format, *service, *rate, *duration, *inflight, *out, *summary)
}

func seedApps(c *rules.Client, apps, batch int, format, service string) error {
	for a := 0; a < apps; a += batch {
		var b strings.Builder
		for k := a; k < min(apps, a+batch); k++ {
			if k > a {
				b.WriteString("---\n")
			}
			b.WriteString(routeDoc(appName(format, k), service, 0))
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		_, err := c.Apply(ctx, fmt.Sprintf("seed-%d.yaml", a), []byte(b.String()), false)
		cancel()
		if err != nil {
			return fmt.Errorf("seeding apps %d-%d: %w", a, min(apps, a+batch)-1, err)
		}
	}
	fmt.Printf("seeded %d apps\n", apps)
	return nil
}

func drive(c *rules.Client, apps int, format, service string, rate float64, duration time.Duration, inflight int, out, summaryFile string) error {
	n := int(rate * duration.Seconds())
	changes := make([]Change, n)
	sem := make(chan struct{}, inflight)
	var wg sync.WaitGroup
	start := time.Now()
	var maxLag time.Duration
	for k := range n {
		due := start.Add(time.Duration(float64(k) * float64(time.Second) / rate))
		time.Sleep(time.Until(due))
		sem <- struct{}{}
		app := appName(format, k%apps)
		now := time.Now()
		maxLag = max(maxLag, now.Sub(due))
		ch := &changes[k]
		*ch = Change{App: app, Seq: k, Due: due.UnixNano(), Stamp: now.UnixNano()}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			resp, err := c.Apply(ctx, "scale-"+app+".yaml", []byte(routeDoc(app, service, ch.Stamp)), false)
			ch.Done = time.Now().UnixNano()
			if err != nil {
				ch.Err = err.Error()
				return
			}
			ch.Revision = resp.Revision
			if len(resp.Results) > 0 {
				ch.Action = resp.Results[0].Action
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	s := Summary{Changes: n, Rate: float64(n) / elapsed.Seconds(), MaxLag: float64(maxLag) / 1e6, Seconds: elapsed.Seconds()}
	var lat []time.Duration
	for _, ch := range changes {
		if ch.Err != "" {
			s.Errors++
			continue
		}
		lat = append(lat, time.Duration(ch.Done-ch.Stamp))
	}
	s.Apply = percentiles(lat)
	if out != "" {
		if err := writeLines(out, changes); err != nil {
			return err
		}
	}
	b, _ := json.Marshal(s)
	fmt.Println(string(b))
	if summaryFile != "" {
		if err := os.WriteFile(summaryFile, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	for _, ch := range changes {
		if ch.Err != "" {
			return fmt.Errorf("%d of %d applies failed; the first: %s: %s", s.Errors, n, ch.App, ch.Err)
		}
	}
	return nil
}

func writeLines(path string, changes []Change) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	for _, ch := range changes {
		if err := enc.Encode(ch); err != nil {
			f.Close()
			return err
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
