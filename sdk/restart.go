package sdk

import (
	"context"
	"errors"

	"github.com/cloudwego/kitex/pkg/endpoint"
	"github.com/cloudwego/kitex/pkg/remote"
	remoteconnpool "github.com/cloudwego/kitex/pkg/remote/connpool"

	"github.com/octomesh/octomesh/codec"
)

// IsSidecarRestart reports whether err is a sidecar's answer that it is
// being replaced and did not forward the call (codec.ErrorRestarting).
// Such a call is safe to retry: it never reached the callee.
func IsSidecarRestart(err error) bool {
	var te *remote.TransError
	return errors.As(err, &te) && te.TypeID() == codec.ExceptionSidecarRestart
}

// retryOnRestart retries a call once when the sidecar answered that it is
// restarting. The answer carries Kitex's "crrst" key, so that connection
// is closed rather than pooled; the idle connections to the same socket
// lead to the old process too, so they are dropped before the retry, which
// then dials the socket afresh and reaches the new process. A connection
// still carrying a call is left alone: its response comes back normally.
func retryOnRestart(pool *remoteconnpool.LongPool, socket string) endpoint.Middleware {
	return func(next endpoint.Endpoint) endpoint.Endpoint {
		return func(ctx context.Context, req, resp any) error {
			err := next(ctx, req, resp)
			if err == nil || !IsSidecarRestart(err) {
				return err
			}
			pool.Clean("unix", socket)
			return next(ctx, req, resp)
		}
	}
}
