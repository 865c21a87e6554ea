package rules

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/octomesh/octomesh/api/registry"
	rulesapi "github.com/octomesh/octomesh/api/rules"
	"github.com/octomesh/octomesh/cp/store"
)

// HandlerOptions configure the rule API.
type HandlerOptions struct {
	// Token is the operator token that writes need (LoadOrCreateToken).
	// Empty: every write is refused.
	Token string
	Log   *slog.Logger
}

// storeTimeout bounds one request's work with etcd.
const storeTimeout = 10 * time.Second

// NewHandler serves the rule API (api/rules: its paths, bodies and
// errors) over st, under /v1/rules: mount it on a mux at "/v1/rules" and
// "/v1/rules/", or serve it alone. Reads and dry runs need no token;
// writes need "Authorization: Bearer <Token>".
func NewHandler(st *Store, opts HandlerOptions) http.Handler {
	h := &handler{st: st, log: opts.Log}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if opts.Token != "" {
		sum := sha256.Sum256([]byte(opts.Token))
		h.token = sum[:]
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/rules/apply", h.unlessDryRun(h.apply))
	mux.HandleFunc("POST /v1/rules/delete", h.unlessDryRun(h.deleteDocuments))
	mux.HandleFunc("GET /v1/rules", h.list)
	mux.HandleFunc("GET /v1/rules/{kind}", h.list)
	mux.HandleFunc("GET /v1/rules/{kind}/{name}", h.get)
	mux.HandleFunc("DELETE /v1/rules/{kind}/{name}", h.authorized(h.deleteOne))
	return mux
}

type handler struct {
	st    *Store
	log   *slog.Logger
	token []byte // sha256 of the operator token; nil: none set
}

// authorized lets a write through only with the operator token, compared
// in constant time (of hashes: the length leaks nothing either).
func (h *handler) authorized(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		given, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		sum := sha256.Sum256([]byte(strings.TrimSpace(given)))
		if !ok || h.token == nil || subtle.ConstantTimeCompare(sum[:], h.token) != 1 {
			h.st.Stats.Unauthorized.Add(1)
			msg := rulesapi.TokenHelp
			if ok {
				msg = "wrong operator token: " + msg
			}
			if h.token == nil {
				msg = "this server has no operator token set: it takes no writes"
			}
			h.log.Warn("rules: write refused: no or wrong operator token", "method", r.Method, "path", r.URL.Path, "from", r.RemoteAddr)
			writeJSON(w, http.StatusUnauthorized, rulesapi.ErrorBody{Error: msg})
			return
		}
		next(w, r)
	}
}

// unlessDryRun needs the token for a write, and none for a dry run
// (ctl diff), which writes nothing and tells no more than a read.
func (h *handler) unlessDryRun(next http.HandlerFunc) http.HandlerFunc {
	auth := h.authorized(next)
	return func(w http.ResponseWriter, r *http.Request) {
		if dry, err := dryRun(r); err == nil && dry {
			next(w, r)
			return
		}
		auth(w, r)
	}
}

// readDocuments reads a request's YAML documents.
func readDocuments(r *http.Request) ([]rulesapi.Document, error) {
	b, err := io.ReadAll(io.LimitReader(r.Body, rulesapi.MaxInput+1))
	if err != nil {
		return nil, fmt.Errorf("%w: reading the request: %v", rulesapi.ErrInvalid, err)
	}
	file := r.URL.Query().Get("file")
	if file == "" {
		file = "request"
	}
	return rulesapi.DecodeDocuments(file, b)
}

func dryRun(r *http.Request) (bool, error) {
	v := r.URL.Query().Get("dry_run")
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, kindErrorf(rulesapi.ErrInvalid, "dry_run=%q: want true or false", v)
	}
	return b, nil
}

func (h *handler) apply(w http.ResponseWriter, r *http.Request) {
	dry, err := dryRun(r)
	if err != nil {
		h.fail(w, err)
		return
	}
	docs, err := readDocuments(r)
	if err != nil {
		h.fail(w, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), storeTimeout)
	defer cancel()
	resp, err := h.st.Apply(ctx, docs, dry)
	if err != nil {
		h.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

func (h *handler) deleteDocuments(w http.ResponseWriter, r *http.Request) {
	dry, err := dryRun(r)
	if err != nil {
		h.fail(w, err)
		return
	}
	docs, err := readDocuments(r)
	if err != nil {
		h.fail(w, err)
		return
	}
	refs := make([]Ref, len(docs))
	for i, d := range docs {
		refs[i] = Ref{Kind: d.Kind, Name: d.Metadata.Name, Revision: d.Metadata.Revision}
	}
	ctx, cancel := context.WithTimeout(r.Context(), storeTimeout)
	defer cancel()
	resp, err := h.st.Delete(ctx, refs, dry)
	if err != nil {
		h.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

func (h *handler) deleteOne(w http.ResponseWriter, r *http.Request) {
	kind, name := r.PathValue("kind"), r.PathValue("name")
	if !rulesapi.KnownKind(kind) {
		h.fail(w, kindErrorf(rulesapi.ErrInvalid, "%q is not a kind of rule (known: %s)", kind, strings.Join(rulesapi.Kinds(), ", ")))
		return
	}
	ref := Ref{Kind: kind, Name: name}
	if v := r.URL.Query().Get("revision"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			h.fail(w, kindErrorf(rulesapi.ErrInvalid, "revision=%q: want a revision number", v))
			return
		}
		ref.Revision = n
	}
	dry, err := dryRun(r)
	if err != nil {
		h.fail(w, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), storeTimeout)
	defer cancel()
	resp, err := h.st.Delete(ctx, []Ref{ref}, dry)
	if err != nil {
		h.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

func (h *handler) list(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), storeTimeout)
	defer cancel()
	docs, err := h.st.List(ctx, r.PathValue("kind"))
	if err != nil {
		h.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, rulesapi.ListResponse{Documents: docs})
}

func (h *handler) get(w http.ResponseWriter, r *http.Request) {
	kind, name := r.PathValue("kind"), r.PathValue("name")
	ctx, cancel := context.WithTimeout(r.Context(), storeTimeout)
	defer cancel()
	if v := r.URL.Query().Get("history"); v != "" && v != "false" && v != "0" {
		if !rulesapi.KnownKind(kind) {
			h.fail(w, kindErrorf(rulesapi.ErrInvalid, "%q is not a kind of rule (known: %s)", kind, strings.Join(rulesapi.Kinds(), ", ")))
			return
		}
		hist, err := h.st.History(ctx, kind, name)
		if err != nil {
			h.fail(w, err)
			return
		}
		writeJSON(w, http.StatusOK, hist)
		return
	}
	d, err := h.st.Get(ctx, kind, name)
	if err != nil {
		h.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

// fail answers err with its status: 400 invalid, 404 not found, 409
// conflict, 503 etcd away, else 500.
func (h *handler) fail(w http.ResponseWriter, err error) {
	code := http.StatusInternalServerError
	switch {
	case errors.Is(err, rulesapi.ErrInvalid), errors.Is(err, store.ErrTooManyOps):
		code = http.StatusBadRequest
	case errors.Is(err, rulesapi.ErrNotFound):
		code = http.StatusNotFound
	case errors.Is(err, rulesapi.ErrConflict):
		code = http.StatusConflict
	case errors.Is(err, registry.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		code = http.StatusServiceUnavailable
	}
	if code == http.StatusInternalServerError || code == http.StatusServiceUnavailable {
		h.log.Warn("rules: request failed", "err", err)
	}
	writeJSON(w, code, rulesapi.ErrorBody{Error: err.Error()})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
