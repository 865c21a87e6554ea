package meta

import (
	"errors"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestRedirectRoundTrip(t *testing.T) {
	err := Redirect("p1", "web", PilotInfo{ID: "p2", XDS: "tcp://127.0.0.1:15012"})
	st, _ := status.FromError(err)
	if st.Code() != codes.FailedPrecondition || st.Message() != "octomesh pilot p1: app web is served by pilot p2 at tcp://127.0.0.1:15012" {
		t.Fatalf("%v", err)
	}
	info := st.Details()[0].(*errdetails.ErrorInfo)
	if info.Reason != "OCTOMESH_WRONG_PILOT" || info.Domain != "octomesh.io" || info.Metadata["app"] != "web" {
		t.Fatalf("%+v", info)
	}
	if p, ok := RedirectOf(err); !ok || p.ID != "p2" || p.XDS != "tcp://127.0.0.1:15012" {
		t.Fatalf("%+v %v", p, ok)
	}
}

func TestRedirectOfOthers(t *testing.T) {
	bad, _ := status.New(codes.FailedPrecondition, "x").WithDetails(&errdetails.ErrorInfo{Reason: RedirectReason,
		Metadata: map[string]string{"pilot": "p2", "xds": "not an address"}})
	other, _ := status.New(codes.FailedPrecondition, "x").WithDetails(&errdetails.ErrorInfo{Reason: "SOMETHING_ELSE",
		Metadata: map[string]string{"pilot": "p2", "xds": "127.0.0.1:1"}})
	for _, err := range []error{nil, errors.New("plain"), status.Error(codes.Aborted, "ask Meta again"),
		status.Error(codes.FailedPrecondition, "no details"), bad.Err(), other.Err()} {
		if p, ok := RedirectOf(err); ok {
			t.Errorf("%v read as a redirect to %+v", err, p)
		}
	}
}
