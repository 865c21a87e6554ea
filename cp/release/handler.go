package release

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	api "github.com/octomesh/octomesh/api/release"
)

// Config is what NewHandler needs.
type Config struct {
	// DataDir holds releases.json and artifacts/ (created if missing).
	DataDir string
	// OperatorToken is required: uploads and release changes must carry
	// it (Authorization: Bearer <token>).
	OperatorToken string
	// AgentToken, when set, must be carried by agents' polls, reports and
	// downloads; when empty, only loopback callers may make them.
	AgentToken string
	// Staleness: a node without a report for this long is stale (30s).
	Staleness time.Duration
	// MaxWait caps an agent's long poll (30s): keep it under the
	// listener's write timeout.
	MaxWait time.Duration
	// Tick is how often the controller looks at the clock (250ms): pauses
	// and gate windows end between reports too.
	Tick time.Duration
	Log  *slog.Logger
}

// Stats are the handler's counters.
type Stats struct {
	Unauthorized   uint64 `json:"unauthorized"`    // 401: no or a wrong token
	Forbidden      uint64 `json:"forbidden"`       // 403: an agent call from off loopback without an agent token configured
	BadRequests    uint64 `json:"bad_requests"`    // 400
	DigestMismatch uint64 `json:"digest_mismatch"` // uploads refused for their digest
	Polls          uint64 `json:"polls"`
	Reports        uint64 `json:"reports"`
}

// Handler serves the release API (see NewHandler).
type Handler struct {
	cfg       Config
	ctrl      *Controller
	artifacts *Artifacts
	mux       *http.ServeMux
	cancel    context.CancelFunc
	done      chan struct{}

	unauthorized, forbidden, badRequests, digestMismatch, polls, reports atomic.Uint64
}

// NewHandler opens the release store in cfg.DataDir, starts the release
// controller's clock and returns the API, to mount on the operator
// listener for the paths api/release names:
//
//	GET  /v1/artifacts                  artifacts (open)
//	POST /v1/artifacts?version=V&sha256=HEX   upload (operator)
//	GET  /v1/artifacts/{sha256}         the binary (agent)
//	GET  /v1/releases                   releases (open)
//	POST /v1/releases                   create, a Spec (operator)
//	GET  /v1/releases/{name}            one release (open)
//	POST /v1/releases/{name}/pause|resume|abort (operator)
//	GET  /v1/agents/{node}/target?app=&zone=&have=&wait=  a long poll (agent)
//	POST /v1/agents/{node}/report       a Report (agent)
//	GET  /v1/nodes                      node reports (open)
//
// Close stops the clock.
func NewHandler(cfg Config) (*Handler, error) {
	if cfg.DataDir == "" {
		return nil, errors.New("release: no data dir")
	}
	if cfg.OperatorToken == "" {
		return nil, errors.New("release: no operator token: uploads and release changes need one")
	}
	if cfg.Staleness <= 0 {
		cfg.Staleness = 30 * time.Second
	}
	if cfg.MaxWait <= 0 {
		cfg.MaxWait = 30 * time.Second
	}
	if cfg.Tick <= 0 {
		cfg.Tick = 250 * time.Millisecond
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	arts, err := OpenArtifacts(filepath.Join(cfg.DataDir, "artifacts"))
	if err != nil {
		return nil, err
	}
	ctrl, err := NewController(filepath.Join(cfg.DataDir, "releases.json"), arts, cfg.Staleness, cfg.Log)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &Handler{cfg: cfg, ctrl: ctrl, artifacts: arts, mux: http.NewServeMux(), cancel: cancel, done: make(chan struct{})}
	m := h.mux
	m.HandleFunc("GET "+api.ArtifactsPath, func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, arts.List()) })
	m.Handle("POST "+api.ArtifactsPath, h.operator(h.upload))
	m.Handle("GET "+api.ArtifactsPath+"/{sha256}", h.agent(h.download))
	m.HandleFunc("GET "+api.ReleasesPath, func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, ctrl.Releases()) })
	m.Handle("POST "+api.ReleasesPath, h.operator(h.create))
	m.HandleFunc("GET "+api.ReleasesPath+"/{name}", func(w http.ResponseWriter, r *http.Request) {
		rel, err := ctrl.Release(r.PathValue("name"))
		h.answer(w, rel, err)
	})
	m.Handle("POST "+api.ReleasesPath+"/{name}/{verb}", h.operator(h.action))
	m.Handle("GET "+api.AgentsPath+"/{node}/target", h.agent(h.target))
	m.Handle("POST "+api.AgentsPath+"/{node}/report", h.agent(h.report))
	m.HandleFunc("GET "+api.NodesPath, func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, ctrl.Nodes(time.Now())) })
	go h.run(ctx)
	return h, nil
}

func (h *Handler) run(ctx context.Context) {
	defer close(h.done)
	t := time.NewTicker(h.cfg.Tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			h.ctrl.Step(now)
		}
	}
}

// Close stops the controller's clock. Long polls in flight end with their
// requests.
func (h *Handler) Close() error {
	h.cancel()
	<-h.done
	return nil
}

// Controller is the controller behind the API.
func (h *Handler) Controller() *Controller { return h.ctrl }

// Stats returns the counters.
func (h *Handler) Stats() Stats {
	return Stats{Unauthorized: h.unauthorized.Load(), Forbidden: h.forbidden.Load(), BadRequests: h.badRequests.Load(),
		DigestMismatch: h.digestMismatch.Load(), Polls: h.polls.Load(), Reports: h.reports.Load()}
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// bearer reports whether r carries token.
func bearer(r *http.Request, token string) bool {
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(got), []byte(token)) == 1
}

func (h *Handler) operator(f http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !bearer(r, h.cfg.OperatorToken) {
			h.unauthorized.Add(1)
			w.Header().Set("WWW-Authenticate", `Bearer realm="octomesh"`)
			writeError(w, http.StatusUnauthorized, "release: this change needs the operator token (Authorization: Bearer <token>)")
			return
		}
		f(w, r)
	})
}

func (h *Handler) agent(f http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h.cfg.AgentToken != "" {
			if !bearer(r, h.cfg.AgentToken) && !bearer(r, h.cfg.OperatorToken) {
				h.unauthorized.Add(1)
				w.Header().Set("WWW-Authenticate", `Bearer realm="octomesh"`)
				writeError(w, http.StatusUnauthorized, "release: agents need the agent token (Authorization: Bearer <token>)")
				return
			}
		} else if ap, err := netip.ParseAddrPort(r.RemoteAddr); err != nil || !ap.Addr().Unmap().IsLoopback() {
			h.forbidden.Add(1)
			writeError(w, http.StatusForbidden, "release: no agent token is configured: agents are accepted from loopback only")
			return
		}
		f(w, r)
	})
}

func (h *Handler) upload(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	art, err := h.artifacts.Put(r.Body, q.Get("version"), q.Get("sha256"), time.Now())
	if errors.Is(err, ErrDigestMismatch) {
		h.digestMismatch.Add(1)
	}
	if err == nil {
		h.cfg.Log.Info("release: artifact uploaded", "sha256", art.SHA256, "version", art.Version, "size", art.Size)
	}
	h.answerCode(w, http.StatusCreated, art, err)
}

func (h *Handler) download(w http.ResponseWriter, r *http.Request) {
	sum := r.PathValue("sha256")
	if err := api.ValidSHA256("sha256", sum); err != nil {
		h.answer(w, nil, err)
		return
	}
	f, err := h.artifacts.Open(sum)
	if err != nil {
		h.answer(w, nil, err)
		return
	}
	defer f.Close()
	w.Header().Set("Content-Type", "application/octet-stream")
	http.ServeContent(w, r, "", time.Time{}, f)
}

func (h *Handler) create(w http.ResponseWriter, r *http.Request) {
	var spec api.Spec
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&spec); err != nil {
		h.answer(w, nil, fmt.Errorf("%w: the body is not a release spec: %v", api.ErrInvalid, err))
		return
	}
	rel, err := h.ctrl.Create(spec, time.Now())
	h.answerCode(w, http.StatusCreated, rel, err)
}

func (h *Handler) action(w http.ResponseWriter, r *http.Request) {
	name, now := r.PathValue("name"), time.Now()
	var rel api.Release
	var err error
	switch verb := r.PathValue("verb"); verb {
	case "pause":
		rel, err = h.ctrl.Pause(name, now)
	case "resume":
		rel, err = h.ctrl.Resume(name, now)
	case "abort":
		rel, err = h.ctrl.Abort(name, now)
	default:
		err = fmt.Errorf("%w: %q: a release can be paused, resumed or aborted", ErrNotFound, verb)
	}
	h.answer(w, rel, err)
}

func (h *Handler) target(w http.ResponseWriter, r *http.Request) {
	h.polls.Add(1)
	node, q := r.PathValue("node"), r.URL.Query()
	if err := api.ValidName("node", node); err != nil {
		h.answer(w, nil, err)
		return
	}
	var wait time.Duration
	if s := q.Get("wait"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 {
			h.answer(w, nil, fmt.Errorf("%w: wait %q: want a duration such as 30s", api.ErrInvalid, s))
			return
		}
		wait = min(d, h.cfg.MaxWait)
	}
	h.ctrl.Seen(node, q.Get("app"), q.Get("zone"), time.Now())
	writeJSON(w, http.StatusOK, h.ctrl.WaitTarget(node, q.Get("have"), wait, r.Context().Done()))
}

func (h *Handler) report(w http.ResponseWriter, r *http.Request) {
	h.reports.Add(1)
	var rep api.Report
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&rep); err != nil {
		h.answer(w, nil, fmt.Errorf("%w: the body is not a node report: %v", api.ErrInvalid, err))
		return
	}
	if rep.Node != r.PathValue("node") {
		h.answer(w, nil, fmt.Errorf("%w: node: the report is of %q, posted for %q", api.ErrInvalid, rep.Node, r.PathValue("node")))
		return
	}
	h.answer(w, nil, h.ctrl.Report(rep, time.Now()))
}

func (h *Handler) answer(w http.ResponseWriter, v any, err error) {
	h.answerCode(w, http.StatusOK, v, err)
}

func (h *Handler) answerCode(w http.ResponseWriter, code int, v any, err error) {
	switch {
	case err == nil && v == nil:
		w.WriteHeader(http.StatusNoContent)
	case err == nil:
		writeJSON(w, code, v)
	case errors.Is(err, api.ErrInvalid), errors.Is(err, ErrDigestMismatch):
		h.badRequests.Add(1)
		writeError(w, http.StatusBadRequest, err.Error())
	case errors.Is(err, ErrNotFound):
		writeError(w, http.StatusNotFound, err.Error())
	case errors.Is(err, ErrConflict):
		writeError(w, http.StatusConflict, err.Error())
	default:
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, http.StatusRequestEntityTooLarge, err.Error())
			return
		}
		h.cfg.Log.Error("release: request failed", "err", err)
		writeError(w, http.StatusInternalServerError, err.Error())
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}
