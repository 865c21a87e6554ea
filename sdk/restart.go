package sdk

import (
	"context"
	"errors"

	"github.com/cloudwego/kitex/pkg/endpoint"
	"github.com/cloudwego/kitex/pkg/remote"
	"github.com/cloudwego/kitex/pkg/rpcinfo"
	"github.com/cloudwego/kitex/pkg/stats"

	"github.com/octomesh/octomesh/codec"
)

// IsSidecarRestart reports whether err is a sidecar's answer that it is
// being replaced and did not forward the call (codec.ErrorRestarting).
// Such a call is safe to retry: it never reached the callee.
func IsSidecarRestart(err error) bool {
	var te *remote.TransError
	return errors.As(err, &te) && te.TypeID() == codec.ExceptionSidecarRestart
}

// retryOnRestart retries, once, a call that certainly did not reach the
// callee:
//
//   - the sidecar answered that it is restarting. The answer carries
//     Kitex's "crrst" key, so that connection is closed rather than pooled;
//     every other connection to the old process is dropped too
//     (restartPool), so the retry gets a connection dialled afresh, which
//     reaches the new process. A connection still carrying a call is left
//     alone: its response comes back normally.
//   - the call was not written: its connection was closed before or while
//     the request went out (an idle pooled connection that a draining
//     sidecar closed a moment before, and netpoll had not noticed yet). A
//     sidecar only acts on a complete frame, so nothing was done. The
//     idle connections are dropped before the retry: they may be as stale.
//
// Any other error is returned as it is: the callee may have seen the call.
func retryOnRestart(pool *restartPool, socket string) endpoint.Middleware {
	return func(next endpoint.Endpoint) endpoint.Endpoint {
		return func(ctx context.Context, req, resp any) error {
			err := next(ctx, req, resp)
			switch {
			case err == nil:
				return nil
			case IsSidecarRestart(err):
				pool.restarted("unix", socket)
			case notWritten(ctx):
				pool.Clean("unix", socket)
			default:
				return err
			}
			return next(ctx, req, resp)
		}
	}
}

// notWritten reports whether the call's request failed to go out whole:
// Kitex records the end of the write with its error (stats.WriteFinish at
// LevelDetailed, which ClientOptions turns on).
func notWritten(ctx context.Context) bool {
	ri := rpcinfo.GetRPCInfo(ctx)
	if ri == nil || ri.Stats() == nil {
		return false
	}
	ev := ri.Stats().GetEvent(stats.WriteFinish)
	return ev != nil && !ev.IsNil() && ev.Status() == stats.StatusError
}
