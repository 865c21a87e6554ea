package console

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/octomesh/octomesh/api/release"
	"github.com/octomesh/octomesh/api/rules"
	"github.com/octomesh/octomesh/config"
	"github.com/octomesh/octomesh/cp/inspect"
)

// Defaults of `octomesh console`.
const (
	DefaultAddress        = "127.0.0.1:15060"
	DefaultRulesServer    = "127.0.0.1:15050" // the operator API (rules, releases, nodes); 15030 is the scanner's
	DefaultScrapeInterval = 5 * time.Second
)

//go:embed assets
var assets embed.FS

// Options say where the mesh is.
type Options struct {
	// Inspect says where the pilots (or Meta) are; the scanners are those
	// the pilots follow (GET /debug/scanners).
	Inspect inspect.Options
	// RulesServer is the operator API's address (host:port): the rules,
	// and the agents' node reports and releases on the sidecars page; ""
	// leaves them without a source.
	RulesServer string
	// Prometheus is a Prometheus base URL (http://host:9090): the graph
	// then comes from its queries instead of the console's own scrapes.
	Prometheus string
	// ScrapeInterval is the time between two scrapes of the sidecars'
	// metrics: the graph's window (default DefaultScrapeInterval).
	ScrapeInterval time.Duration
	Log            *slog.Logger
}

// Console serves the web console and its JSON API.
type Console struct {
	opts  Options
	in    *inspect.Inspector
	rules *rules.Client
	// release reads the node reports and releases, on the same operator
	// API as the rules.
	release *release.Client
	log     *slog.Logger

	mu        sync.Mutex
	prev, cur *inspect.Scrape
	scrapeErr error
	// asked is when the graph was last asked for (UnixNano); wake starts
	// a scrape at once.
	asked atomic.Int64
	wake  chan struct{}

	stop chan struct{}
	done chan struct{}
	once sync.Once
}

// New checks opts, connects what it needs and starts scraping the
// sidecars (unless Prometheus is given). Close stops it.
func New(opts Options) (*Console, error) {
	if opts.ScrapeInterval < 0 {
		return nil, fmt.Errorf("console: scrape interval %v is negative", opts.ScrapeInterval)
	}
	if opts.ScrapeInterval == 0 {
		opts.ScrapeInterval = DefaultScrapeInterval
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Prometheus != "" && !strings.HasPrefix(opts.Prometheus, "http://") && !strings.HasPrefix(opts.Prometheus, "https://") {
		return nil, fmt.Errorf("console: prometheus %q: want an http:// or https:// URL", opts.Prometheus)
	}
	c := &Console{opts: opts, log: opts.Log, stop: make(chan struct{}), done: make(chan struct{}), wake: make(chan struct{}, 1)}
	in, err := inspect.New(opts.Inspect)
	if err != nil {
		c.closeClients()
		return nil, fmt.Errorf("console: %v", err)
	}
	c.in = in
	if opts.RulesServer != "" {
		if _, _, err := config.ParseAddress(opts.RulesServer); err != nil {
			c.closeClients()
			return nil, fmt.Errorf("console: rules server %v", err)
		}
		rc, err := rules.NewClient(opts.RulesServer, "")
		if err != nil {
			c.closeClients()
			return nil, fmt.Errorf("console: rules server: %v", err)
		}
		c.rules = rc
		c.release = release.NewClient(opts.RulesServer, "")
	}
	if opts.Prometheus == "" {
		go c.scrapeLoop()
	} else {
		close(c.done)
	}
	return c, nil
}

// Close stops the scrapes and releases the clients.
func (c *Console) Close() {
	c.once.Do(func() {
		close(c.stop)
		<-c.done
		c.closeClients()
	})
}

func (c *Console) closeClients() {
	if c.in != nil {
		c.in.Close()
	}
	if c.rules != nil {
		c.rules.Close()
	}
	if c.release != nil {
		c.release.Close()
	}
}

// idleAfter: with no graph asked for this long, the console stops
// scraping the sidecars (and forgets its scrapes); the next ask starts
// again. Nobody looking costs the mesh nothing.
const idleAfter = time.Minute

// scrapeLoop scrapes the sidecars every ScrapeInterval while someone looks
// at the graph, keeping the last two scrapes: the graph is the calls
// between them.
func (c *Console) scrapeLoop() {
	defer close(c.done)
	t := time.NewTicker(c.opts.ScrapeInterval)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
		case <-c.wake:
			t.Reset(c.opts.ScrapeInterval)
		}
		if time.Since(time.Unix(0, c.asked.Load())) > idleAfter {
			c.mu.Lock()
			c.prev, c.cur, c.scrapeErr = nil, nil, nil
			c.mu.Unlock()
			continue
		}
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			select {
			case <-c.stop:
				cancel()
			case <-ctx.Done():
			}
		}()
		s, err := c.in.Scrape(ctx)
		cancel()
		c.mu.Lock()
		if err != nil {
			c.scrapeErr = err
		} else {
			c.scrapeErr = nil
			c.prev, c.cur = c.cur, &s
		}
		c.mu.Unlock()
	}
}

// Graph is the service graph: between the console's last two scrapes, or
// from Prometheus.
func (c *Console) Graph(ctx context.Context) (GraphView, error) {
	if c.opts.Prometheus != "" {
		return c.prometheusGraph(ctx)
	}
	if time.Since(time.Unix(0, c.asked.Swap(time.Now().UnixNano()))) > idleAfter {
		select { // the first ask after a while: scrape now
		case c.wake <- struct{}{}:
		default:
		}
	}
	c.mu.Lock()
	prev, cur, err := c.prev, c.cur, c.scrapeErr
	c.mu.Unlock()
	v := GraphView{Interval: c.opts.ScrapeInterval.Seconds()}
	switch {
	case err != nil && cur == nil:
		return v, err
	case err != nil:
		v.Error = "the last scrape failed (this graph is older): " + err.Error()
	}
	if cur == nil || prev == nil {
		v.Graph = inspect.Graph{Source: "sidecars", Nodes: []inspect.GraphNode{}, Edges: []inspect.GraphEdge{}}
		v.Pending = fmt.Sprintf("rates need two scrapes of the sidecars %v apart (the console scrapes only while someone looks at the graph): it fills in shortly", c.opts.ScrapeInterval)
		if cur != nil {
			v.Graph.Unreachable = cur.Unreachable
		}
		return v, nil
	}
	v.Graph = inspect.GraphBetween(*prev, *cur)
	return v, nil
}

// GraphView is /api/graph's answer.
type GraphView struct {
	inspect.Graph
	// Interval is the console's scrape interval in seconds.
	Interval float64 `json:"interval_seconds"`
	// Pending says why there are no rates yet.
	Pending string `json:"pending,omitempty"`
	// Error says the last scrape failed.
	Error string `json:"error,omitempty"`
}

// Handler serves the page, its assets and the JSON API:
//
//	GET /                       the page (hash routes: #/graph, #/services, ...)
//	GET /assets/...             its script and style
//	GET /api/graph              the service graph (GraphView)
//	GET /api/services           every service (inspect.ServicesView)
//	GET /api/services/{name}    one service (inspect.ServiceOverview)
//	GET /api/sidecars           the sidecars (SidecarsView)
//	GET /api/rules              the rule documents by service (RulesView)
//	GET /api/rules/{kind}/{name} one document and its history
//	GET /api/controlplane       pilots, Meta, scanners (inspect.ControlPlaneView)
//
// Every answer is JSON; a source that does not answer is named in the
// answer's "unreachable" list, and a view that has no source at all
// answers 502 with {"error": ...}. Everything is read-only: any method but
// GET (and HEAD) answers 405.
func (c *Console) Handler() http.Handler {
	mux := http.NewServeMux()
	sub, _ := fs.Sub(assets, "assets")
	files := http.FileServerFS(sub)
	mux.Handle("GET /assets/", http.StripPrefix("/assets/", files))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		b, err := assets.ReadFile("assets/index.html")
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		_, _ = w.Write(b)
	})
	api := func(path string, f func(ctx context.Context, r *http.Request) (any, error)) {
		mux.HandleFunc("GET "+path, func(w http.ResponseWriter, r *http.Request) {
			v, err := f(r.Context(), r)
			if err != nil {
				code := http.StatusBadGateway
				var ce *clientError
				if errors.As(err, &ce) {
					code = ce.code
				}
				writeJSON(w, code, map[string]string{"error": err.Error()})
				return
			}
			writeJSON(w, http.StatusOK, v)
		})
	}
	api("/api/graph", func(ctx context.Context, _ *http.Request) (any, error) { return c.Graph(ctx) })
	api("/api/services", func(ctx context.Context, _ *http.Request) (any, error) { return c.in.Services(ctx) })
	api("/api/services/{name}", func(ctx context.Context, r *http.Request) (any, error) {
		name := r.PathValue("name")
		if err := config.CheckName(name); err != nil {
			return nil, &clientError{http.StatusBadRequest, fmt.Errorf("service name %q: %v", name, err)}
		}
		return c.in.Service(ctx, name)
	})
	api("/api/sidecars", func(ctx context.Context, _ *http.Request) (any, error) { return c.Sidecars(ctx) })
	api("/api/rules", func(ctx context.Context, _ *http.Request) (any, error) { return c.Rules(ctx) })
	api("/api/rules/{kind}/{name}", func(ctx context.Context, r *http.Request) (any, error) {
		return c.RuleHistory(ctx, r.PathValue("kind"), r.PathValue("name"))
	})
	api("/api/controlplane", func(ctx context.Context, _ *http.Request) (any, error) { return c.in.ControlPlane(ctx) })
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "the console is read-only: " + r.Method + " " + r.URL.Path})
			return
		}
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such view: " + r.URL.Path +
			" (the views: /api/graph, /api/services, /api/services/{name}, /api/sidecars, /api/rules, /api/controlplane)"})
	})
	return readOnly(mux)
}

// readOnly refuses every method but GET and HEAD.
func readOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "the console is read-only: " + r.Method + " " + r.URL.Path})
			return
		}
		h.ServeHTTP(w, r)
	})
}

type clientError struct {
	code int
	err  error
}

func (e *clientError) Error() string { return e.err.Error() }

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// Server is a console listening on an address.
type Server struct {
	*Console
	srv  *http.Server
	ln   net.Listener
	errc chan error
}

// Start listens on address (host:port; port 0 picks one) and serves the
// console.
func Start(address string, opts Options) (*Server, error) {
	network, addr, err := config.ParseAddress(address)
	if err != nil {
		return nil, fmt.Errorf("console: address %v", err)
	}
	if network != "tcp" {
		return nil, fmt.Errorf("console: address %q: a browser needs a TCP host:port", address)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("console: address %s: %v", address, err)
	}
	c, err := New(opts)
	if err != nil {
		ln.Close()
		return nil, err
	}
	s := &Server{Console: c, ln: ln, errc: make(chan error, 1),
		srv: &http.Server{Handler: c.Handler(), ReadHeaderTimeout: 10 * time.Second}}
	go func() { s.errc <- s.srv.Serve(ln) }()
	return s, nil
}

// Addr is the address it listens on (host:port).
func (s *Server) Addr() string { return s.ln.Addr().String() }

// URL is the console's page.
func (s *Server) URL() string { return "http://" + s.Addr() + "/" }

// Close stops serving and the scrapes.
func (s *Server) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = s.srv.Shutdown(ctx)
	s.Console.Close()
}
