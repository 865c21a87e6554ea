// Package codec reads and writes TTHeader, the framing that CloudWeGo Kitex
// uses, for the sidecar's request path.
//
// Decoding is header-only and in place: Header.Decode walks one complete frame
// and records offsets and views (service, method, seqIDs, info blocks) into
// it, allocating nothing. The payload is never parsed beyond its message
// header (Thrift binary, Framed Thrift, or Kitex protobuf), which is where the
// sidecar finds the payload seqID it must rewrite together with the TTHeader
// one: a Kitex server answers with the payload's seqID, not the header's.
//
// Encoding is for the few frames the mesh writes itself (error responses,
// control frames); it appends to a caller's buffer, which on the request path
// comes from bytebufferpool.
//
// codec is a leaf: it must never import another OctoMesh package.
package codec
