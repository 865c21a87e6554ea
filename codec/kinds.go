package codec

// ErrorKind is what the mesh says went wrong when it answers a call itself.
// On the wire it is the value of the string info key KeyError ("om-error")
// and, in the exception the answer carries, the type id ExceptionKind(kind),
// so that a client can tell it apart without reading the header (sdk maps
// it to a Kitex error).
type ErrorKind uint8

// The kinds. "Not forwarded" kinds are answers to calls that the callee
// cannot have seen: they are safe to retry anywhere. The others may have
// run.
const (
	KindNone ErrorKind = iota
	// KindNoRoute: no route matched the call (not forwarded).
	KindNoRoute
	// KindOverloaded: a sidecar or upstream bound on requests in flight
	// was reached (not forwarded).
	KindOverloaded
	// KindUnreachable: no endpoint of the cluster could be connected to
	// (not forwarded).
	KindUnreachable
	// KindTimeout: the call's deadline passed before the answer came; the
	// callee may have run it.
	KindTimeout
	// KindConnLost: the connection to the endpoint was lost after the call
	// was written; the callee may have run it.
	KindConnLost
	// KindRestarting: the sidecar is being replaced and did not forward
	// the call; retry it on a new connection (the sdk does).
	KindRestarting
	// KindRateLimited: a rate limit of the route refused the call (not
	// forwarded). Retrying at once meets the same limit.
	KindRateLimited
	// KindCircuitOpen: a circuit breaker of the cluster (requests or
	// pending requests at their limit) refused the call (not forwarded).
	KindCircuitOpen
	// KindFault: an abort fault of the route answered the call (not
	// forwarded). Resilience tests inject it on purpose.
	KindFault
	// KindDeadlineExceeded: the caller's own timeout had run out before the
	// mesh could forward the call (not forwarded).
	KindDeadlineExceeded
	// KindNoInstances: the call's service has no instances: the control
	// plane lists none (not forwarded).
	KindNoInstances
	// KindPermissionDenied: the callee's sidecar refused the caller by an
	// authorization rule (not forwarded). Retrying meets the same rule.
	KindPermissionDenied
	numKinds
)

var kindNames = [numKinds]string{
	KindNone:             "",
	KindNoRoute:          ErrorNoRoute,
	KindOverloaded:       ErrorOverloaded,
	KindUnreachable:      ErrorUnreachable,
	KindTimeout:          ErrorTimeout,
	KindConnLost:         ErrorConnLost,
	KindRestarting:       ErrorRestarting,
	KindRateLimited:      ErrorRateLimited,
	KindCircuitOpen:      ErrorCircuitOpen,
	KindFault:            ErrorFault,
	KindDeadlineExceeded: ErrorDeadlineExceeded,
	KindNoInstances:      ErrorNoInstances,
	KindPermissionDenied: ErrorPermissionDenied,
}

// String is the kind's KeyError value ("" for KindNone).
func (k ErrorKind) String() string {
	if k < numKinds {
		return kindNames[k]
	}
	return "unknown"
}

// ParseErrorKind returns the kind whose KeyError value is v, or KindNone.
// It allocates nothing.
func ParseErrorKind(v []byte) ErrorKind {
	if len(v) == 0 {
		return KindNone
	}
	for k := KindNoRoute; k < numKinds; k++ {
		if kindNames[k] == string(v) {
			return k
		}
	}
	return KindNone
}

// NotForwarded reports whether an answer of this kind means the callee
// never saw the call, so that it may be retried anywhere.
func (k ErrorKind) NotForwarded() bool {
	switch k {
	case KindNoRoute, KindOverloaded, KindUnreachable, KindRestarting, KindRateLimited, KindCircuitOpen, KindFault, KindDeadlineExceeded, KindNoInstances, KindPermissionDenied:
		return true
	}
	return false
}

// exceptionKindBase is the type id of the mesh's exceptions without the
// kind: "OM" in the second and third bytes.
const exceptionKindBase = 0x4f4d00

// ExceptionKind is the type id of the exception the mesh sends for an
// answer of kind k. KindRestarting keeps its historical id,
// ExceptionSidecarRestart.
func ExceptionKind(k ErrorKind) int32 {
	if k == KindRestarting {
		return ExceptionSidecarRestart
	}
	return exceptionKindBase | int32(k)
}

// KindOfException returns the kind of a mesh exception's type id, or
// KindNone for an id the mesh does not use.
func KindOfException(typeID int32) ErrorKind {
	if typeID == ExceptionSidecarRestart {
		return KindRestarting
	}
	if typeID&^0xff != exceptionKindBase {
		return KindNone
	}
	if k := ErrorKind(typeID & 0xff); k > KindNone && k < numKinds {
		return k
	}
	return KindNone
}
