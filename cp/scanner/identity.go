package scanner

import (
	"fmt"
	"net/http"

	"github.com/octomesh/octomesh/api/ca"
)

// callers wraps h so that, with Options.HTTPTLS, a request is served only
// if its client certificate (verified at the handshake by ca.ServerTLS)
// is of the trust domain and, for the POST paths, of the app allowed to
// make it: check-now only from pilots, confirm only from scanners. Others
// get 403 and are counted (scanner.identity_refused).
func (s *Scanner) callers(h http.Handler) http.Handler {
	if s.opts.HTTPTLS == nil {
		return h
	}
	allowed := map[string]string{ // path -> the one app that may POST it
		"/v1/check":   ca.PilotApp,
		"/v1/confirm": ca.ScannerApp,
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := ca.PeerID(r.TLS)
		if err == nil && id.TrustDomain != s.opts.TrustDomain {
			err = fmt.Errorf("identity %s is not of trust domain %s", id, s.opts.TrustDomain)
		}
		if app, ok := allowed[r.URL.Path]; err == nil && ok && r.Method == http.MethodPost && id.App != app {
			err = fmt.Errorf("caller %s may not call %s %s: only the app %s may", id, r.Method, r.URL.Path, app)
		}
		if err != nil {
			s.Stats.IdentityRefused.Add(1)
			s.log.Warn("scanner: request refused", "path", r.URL.Path, "err", err)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprintf(w, "{\"error\": %q}\n", "scanner: "+err.Error())
			return
		}
		h.ServeHTTP(w, r)
	})
}
