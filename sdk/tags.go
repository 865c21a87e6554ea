package sdk

import (
	"context"

	"github.com/bytedance/gopkg/cloud/metainfo"
	"github.com/cloudwego/kitex/client"
	"github.com/cloudwego/kitex/pkg/rpcinfo"
)

// WithTag returns a context whose calls carry the tag name=value (a lane, a
// canary marker, test traffic). Routes match it with `tags: {name: value}`,
// on every hop: the tag travels as Kitex persistent metainfo (TTHeader
// string info key config.TagKey(name)), which a Kitex server passes on to
// the calls it makes with the context it was given.
func WithTag(ctx context.Context, name, value string) context.Context {
	return metainfo.WithPersistentValue(ctx, name, value)
}

// Tag returns the value of the tag name that a call carries, on the server
// side (from the handler's context) or before a call.
func Tag(ctx context.Context, name string) (string, bool) {
	return metainfo.GetPersistentValue(ctx, name)
}

// CallerName is the client option that names the calling app in every
// call (TTHeader from-service), which per-caller rate limits count by.
func CallerName(app string) client.Option {
	return client.WithClientBasicInfo(&rpcinfo.EndpointBasicInfo{ServiceName: app})
}
