package sdk

import (
	"context"
	"errors"

	"github.com/cloudwego/kitex/pkg/endpoint"
	"github.com/cloudwego/kitex/pkg/kerrors"
	"github.com/cloudwego/kitex/pkg/remote"

	"github.com/octomesh/octomesh/codec"
)

// MeshError is a call's error that the mesh made instead of the callee: a
// sidecar answered the call itself (no route, rate limited, circuit open,
// timeout, ...). Clients built with ClientOptions get it wrapped in the
// Kitex error of the same meaning (kitexErrors), so that errors.Is(err,
// kerrors.ErrRPCTimeout) and the like work, and AsMeshError finds it.
type MeshError struct {
	// Kind is the mesh's kind ("rate_limited", ...; codec.ErrorKind).
	Kind codec.ErrorKind
	// Message is the sidecar's message ("octomesh: ...").
	Message string
	cause   error // the Kitex TransError the answer arrived as
}

func (e *MeshError) Error() string { return e.Message }

// Unwrap returns the Kitex TransError the answer arrived as.
func (e *MeshError) Unwrap() error { return e.cause }

// NotForwarded reports whether the callee cannot have seen the call: the
// mesh refused or could not deliver it. Such a call may be retried
// (a rate_limited or circuit_open one after a pause).
func (e *MeshError) NotForwarded() bool { return e.Kind.NotForwarded() }

// AsMeshError returns the mesh error in err's chain, if there is one. It
// also recognises an unwrapped Kitex TransError carrying a mesh kind.
func AsMeshError(err error) (*MeshError, bool) {
	var me *MeshError
	if errors.As(err, &me) {
		return me, true
	}
	var te *remote.TransError
	if errors.As(err, &te) {
		if k := codec.KindOfException(te.TypeID()); k != codec.KindNone {
			return &MeshError{Kind: k, Message: te.Error(), cause: te}, true
		}
	}
	return nil, false
}

// IsNotForwarded reports whether err is a mesh error whose call the callee
// cannot have seen, so that retrying it cannot run it twice.
func IsNotForwarded(err error) bool {
	me, ok := AsMeshError(err)
	return ok && me.NotForwarded()
}

// kitexErrors is the Kitex error each mesh kind is reported as.
var kitexErrors = map[codec.ErrorKind]error{
	codec.KindNoRoute:          kerrors.ErrRoute,
	codec.KindOverloaded:       kerrors.ErrOverlimit,
	codec.KindUnreachable:      kerrors.ErrGetConnection,
	codec.KindTimeout:          kerrors.ErrRPCTimeout,
	codec.KindConnLost:         kerrors.ErrRemoteOrNetwork,
	codec.KindRestarting:       kerrors.ErrRemoteOrNetwork,
	codec.KindRateLimited:      kerrors.ErrOverlimit,
	codec.KindCircuitOpen:      kerrors.ErrCircuitBreak,
	codec.KindFault:            kerrors.ErrRemoteOrNetwork,
	codec.KindDeadlineExceeded: kerrors.ErrRPCTimeout,
	codec.KindNoInstances:      kerrors.ErrServiceDiscovery, // as Kitex's own "no instance available"
	codec.KindPermissionDenied: kerrors.ErrACL,
}

// meshErrors turns a call's error that a sidecar made into the Kitex error
// of the same meaning, with the MeshError as its cause.
func meshErrors(next endpoint.Endpoint) endpoint.Endpoint {
	return func(ctx context.Context, req, resp any) error {
		err := next(ctx, req, resp)
		if err == nil {
			return nil
		}
		var te *remote.TransError
		if !errors.As(err, &te) {
			return err
		}
		k := codec.KindOfException(te.TypeID())
		if k == codec.KindNone {
			return err
		}
		me := &MeshError{Kind: k, Message: te.Error(), cause: err}
		if ke, ok := kitexErrors[k].(interface{ WithCause(error) error }); ok {
			return ke.WithCause(me)
		}
		return me
	}
}
