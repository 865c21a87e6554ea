package meta

import (
	"fmt"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/octomesh/octomesh/config"
)

// A redirect is how a pilot tells a sidecar that another pilot serves its
// app: the stream ends with gRPC status FAILED_PRECONDITION, whose details
// hold a google.rpc.ErrorInfo with this reason and domain, and metadata
// "app", "pilot" (the owner's id) and "xds" (its address). A client that
// does not know it sees a failed stream and asks Meta again. A pilot that
// cannot tell the owner yet ends the stream with ABORTED: ask Meta again
// (without avoiding this pilot).
const (
	RedirectReason = "OCTOMESH_WRONG_PILOT"
	RedirectDomain = "octomesh.io"
)

// Redirect is the error with which pilot self ends a stream of app's
// sidecar, sending it to owner.
func Redirect(self, app string, owner PilotInfo) error {
	st := status.New(codes.FailedPrecondition, fmt.Sprintf("octomesh pilot %s: app %s is served by pilot %s at %s", self, app, owner.ID, owner.XDS))
	if d, err := st.WithDetails(&errdetails.ErrorInfo{Reason: RedirectReason, Domain: RedirectDomain,
		Metadata: map[string]string{"app": app, "pilot": owner.ID, "xds": owner.XDS}}); err == nil {
		st = d
	}
	return st.Err()
}

// RedirectOf reads a redirect from a stream's error: the pilot it names
// (ID and XDS), if err is one and names a usable pilot.
func RedirectOf(err error) (PilotInfo, bool) {
	st, ok := status.FromError(err)
	if !ok || st.Code() != codes.FailedPrecondition {
		return PilotInfo{}, false
	}
	for _, d := range st.Details() {
		info, ok := d.(*errdetails.ErrorInfo)
		if !ok || info.GetReason() != RedirectReason {
			continue
		}
		p := PilotInfo{ID: info.GetMetadata()["pilot"], XDS: info.GetMetadata()["xds"]}
		if _, _, err := config.ParseAddress(p.XDS); err != nil || p.ID == "" {
			return PilotInfo{}, false
		}
		return p, true
	}
	return PilotInfo{}, false
}
