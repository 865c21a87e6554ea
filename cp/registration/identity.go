package registration

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"

	"github.com/octomesh/octomesh/api/ca"
	"github.com/octomesh/octomesh/api/registry"
)

// Stats counts what an authenticated API refused (RequireIdentity).
type Stats struct {
	// Refused counts requests answered 403: an app registering, renewing,
	// revoking or writing rules for what is not its own.
	Refused atomic.Uint64
}

// WriteStats writes the API's counters as /stats lines (Counters
// describes them).
func (a *API) WriteStats(w io.Writer) {
	fmt.Fprintf(w, "%s %d\n", RefusedStat, a.Stats.Refused.Load())
}

// RequireIdentity makes the API authenticated. The server that mounts it
// must serve it over mutual TLS whose verifier checked the client's chain
// and trust domain (api/ca.ServerTLS): every request then comes with the
// client's certificate, and
//
//   - an instance may be registered only by its own app (Instance.App is the
//     app of the certificate's spiffe://<trust-domain>/app/<app>), and only
//     if the service's registered instances are all of that app: the app
//     whose instances a service has owns it;
//   - a lease may be renewed, revoked or updated only by the app that
//     registered it here; a lease this API did not grant (another server's,
//     or granted before this one restarted) is answered 404, and the
//     client registers again;
//   - an app's route rules may be written only by that app, a service's
//     policy only by the service's owner;
//   - reads need only a certificate of the trust domain.
//
// Refusals are 403 naming the caller, what it asked for and its owner,
// and are counted (Stats.Refused). Call it before serving.
func (a *API) RequireIdentity(trustDomain string) { a.h.trustDomain = trustDomain }

// errForbidden is answered 403.
var errForbidden = registry.ErrForbidden

// caller is the app of r's client certificate when the API requires
// identities ("" and true when it does not). On false it has answered.
func (h *handler) caller(w http.ResponseWriter, r *http.Request) (string, bool) {
	if h.trustDomain == "" {
		return "", true
	}
	id, err := ca.PeerID(r.TLS)
	if err == nil && id.TrustDomain != h.trustDomain {
		err = fmt.Errorf("identity %s is not of trust domain %s", id, h.trustDomain)
	}
	if err != nil {
		h.refuse(w, fmt.Errorf("%w: the registration API needs mutual TLS with a workload certificate: %v", errForbidden, err))
		return "", false
	}
	return id.App, true
}

// refuse answers 403 with err and counts it.
func (h *handler) refuse(w http.ResponseWriter, err error) {
	h.stats.Refused.Add(1)
	h.log.Warn("registration refused", "err", err)
	writeError(w, err)
}

// mayRegister checks that app may register in (app "": not
// authenticated). It reads the service's instances to find its owner.
func (h *handler) mayRegister(ctx context.Context, app string, in registry.Instance) error {
	if h.trustDomain == "" {
		return nil
	}
	if in.App != app {
		return fmt.Errorf("%w: caller %s may not register an instance of app %q (service %s): an app registers only its own instances",
			errForbidden, h.id(app), in.App, in.Service)
	}
	return h.owns(ctx, app, in.Service, false)
}

// owns checks that app owns service: every registered instance of it is
// app's. A service without instances is anyone's to register, but nobody's
// to write a policy for (needInstance).
func (h *handler) owns(ctx context.Context, app, service string, needInstance bool) error {
	what := "register instances of"
	if needInstance {
		what = "write the policy of"
	}
	list, err := h.store.Instances(ctx, service)
	if err != nil {
		return err
	}
	for _, in := range list {
		if in.App != app {
			return fmt.Errorf("%w: caller %s may not %s service %s: it belongs to app %q (the app of its registered instances)",
				errForbidden, h.id(app), what, service, in.App)
		}
	}
	if needInstance && len(list) == 0 {
		return fmt.Errorf("%w: caller %s may not write the policy of service %s: it has no registered instance, so no owner (write it through the rule API, `octomesh ctl apply`)",
			errForbidden, h.id(app), service)
	}
	return nil
}

// mayUseLease checks that app may renew, update or revoke lease: it
// holds app's instances. The app of a lease granted here is remembered;
// that of another server's is read from the store.
func (h *handler) mayUseLease(ctx context.Context, app string, lease registry.LeaseID) error {
	if h.trustDomain == "" {
		return nil
	}
	h.mu.Lock()
	owner := ""
	if r := h.leases[lease]; r != nil {
		owner = r.app
	}
	h.mu.Unlock()
	if owner == "" {
		list, err := h.store.LeaseInstances(ctx, lease)
		if err != nil {
			return err
		}
		if len(list) == 0 {
			return fmt.Errorf("%w: lease %d holds no instance: register again", registry.ErrLeaseNotFound, lease)
		}
		owner = app
		for _, in := range list {
			if in.App != app {
				owner = in.App
			}
		}
	}
	if owner != app {
		return fmt.Errorf("%w: caller %s may not use lease %d: it holds instances of app %q", errForbidden, h.id(app), lease, owner)
	}
	return nil
}

// mayWriteRoutes checks that caller may write app's route rules: it is app.
func (h *handler) mayWriteRoutes(caller, app string) error {
	if h.trustDomain == "" || caller == app {
		return nil
	}
	return fmt.Errorf("%w: caller %s may not write the route rules of app %q: an app writes only its own", errForbidden, h.id(caller), app)
}

// mayWritePolicy checks that caller may write service's policy: it owns
// the service.
func (h *handler) mayWritePolicy(ctx context.Context, caller, service string) error {
	if h.trustDomain == "" {
		return nil
	}
	return h.owns(ctx, caller, service, true)
}

// reader lets f serve a read: in an authenticated API, any client whose
// certificate is of the trust domain.
func (h *handler) reader(f http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if _, ok := h.caller(w, r); ok {
			f(w, r)
		}
	}
}

func (h *handler) id(app string) string { return ca.ID{TrustDomain: h.trustDomain, App: app}.String() }

// answer writes err: a refusal (403) is counted.
func (h *handler) answer(w http.ResponseWriter, err error) {
	if errors.Is(err, errForbidden) {
		h.refuse(w, err)
		return
	}
	writeError(w, err)
}
