package registry

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// The registration API, served over HTTP with JSON bodies by the pilot and
// by Meta (cp/registration is the server side; Client the one client):
//
//	POST   /v1/instances          RegisterRequest -> RegisterResponse
//	PUT    /v1/leases/{lease}     keep the lease alive -> RegisterResponse
//	DELETE /v1/leases/{lease}     revoke it: the instance leaves at once
//	GET    /v1/services/{service} -> []Instance
//	GET    /v1/routes/{app}       -> AppRoutes
//	PUT    /v1/routes/{app}       AppRoutes (validated)
//	DELETE /v1/routes/{app}
//	GET    /v1/policies/{service} -> ServicePolicy ({} when none)
//	PUT    /v1/policies/{service} ServicePolicy (validated)
//	DELETE /v1/policies/{service}
//
// Errors are ErrorBody with 400 (invalid), 403 (forbidden: an
// authenticated API refused the caller's identity), 404 (lease not found)
// or 503 (store unavailable). An authenticated API (served over mutual TLS)
// refuses a client without a certificate at the handshake.

// RegisterRequest registers an instance, or with Lease set, replaces the
// instance stored under that lease (to change its weight, say).
type RegisterRequest struct {
	Instance Instance `json:"instance"`
	// TTL is a Go duration; "" means DefaultTTL. Ignored with Lease.
	TTL   string  `json:"ttl,omitempty"`
	Lease LeaseID `json:"lease,omitempty"`
}

// RegisterResponse names the lease to keep alive.
type RegisterResponse struct {
	Lease LeaseID `json:"lease"`
	TTL   string  `json:"ttl"`
}

// ErrorBody is the body of every error answer: {"error": "..."}.
type ErrorBody struct {
	Error string `json:"error"`
}

// StatusError turns an error answer (code, body) back into an error of
// its kind, for errors.Is: ErrInvalid, ErrForbidden, ErrLeaseNotFound or
// ErrUnavailable.
func StatusError(code int, body []byte) error {
	var e ErrorBody
	msg := string(body)
	if json.Unmarshal(body, &e) == nil && e.Error != "" {
		msg = e.Error
	}
	switch code {
	case http.StatusBadRequest:
		return fmt.Errorf("%w (from the pilot: %s)", ErrInvalid, msg)
	case http.StatusForbidden:
		return fmt.Errorf("%w (from the pilot: %s)", ErrForbidden, msg)
	case http.StatusNotFound:
		return fmt.Errorf("%w (from the pilot: %s)", ErrLeaseNotFound, msg)
	case http.StatusServiceUnavailable:
		return fmt.Errorf("%w (from the pilot: %s)", ErrUnavailable, msg)
	}
	return fmt.Errorf("registry: pilot answered %d: %s", code, msg)
}
