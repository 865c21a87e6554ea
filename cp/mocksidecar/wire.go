package mocksidecar

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpoint "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

// Cheaper checking (docs/performance.md, "Cheaper simulated sidecars"):
// thousands of simulated sidecars share a process, so each reads a push
// with protowire instead of the reflective unmarshal into Envoy's types.
//
// decodeResponse reads the envelope: the fields a sidecar uses (type URL,
// nonce, system version, each resource's name, version, aliases and body,
// the removed names), as proto.Unmarshal would set them. Anything else (a
// field it does not read, a wire type it does not expect, a string that is
// not UTF-8, a malformed message) sends the whole message to
// proto.Unmarshal, whose result or error is then the answer: the fast
// path never accepts what the full one rejects.
//
// decodeEndpoints reads an endpoint resource's body (a
// ClusterLoadAssignment) into what expect checks: the endpoints' socket
// addresses, weights, health and "octomesh" metadata, walking the fields
// that lead there and, of the others, only the wire structure (tags,
// lengths). TestDecodeEndpointsMatchesFull and FuzzDecodeEndpoints hold it
// to decodeFull's result for every body proto.Unmarshal accepts.

// decodeResponse decodes a DeltaDiscoveryResponse.
func decodeResponse(b []byte) (*discovery.DeltaDiscoveryResponse, error) {
	if r, ok := fastResponse(b); ok {
		return r, nil
	}
	r := &discovery.DeltaDiscoveryResponse{}
	if err := proto.Unmarshal(b, r); err != nil {
		return nil, err
	}
	return r, nil
}

// responseCache is a loop's last decoded responses, by their bytes: a
// push is one message for every session of a pilot, so a loop decodes it
// once and its sidecars share the result, which no one changes.
type responseCache struct {
	wire [8][]byte
	resp [8]*discovery.DeltaDiscoveryResponse
	next int
}

// decode is decodeResponse through the cache.
func (c *responseCache) decode(b []byte) (*discovery.DeltaDiscoveryResponse, error) {
	for i, w := range c.wire {
		if c.resp[i] != nil && string(w) == string(b) {
			return c.resp[i], nil
		}
	}
	r, err := decodeResponse(b) // its strings are copies, not parts of b
	if err != nil {
		return nil, err
	}
	i := c.next
	c.next = (i + 1) % len(c.wire)
	c.wire[i], c.resp[i] = append(c.wire[i][:0], b...), r
	return r, nil
}

// appendRequest appends r's encoding; an ACK (type URL and nonce only,
// what every sidecar sends per push) is written by hand, in
// proto.Marshal's bytes.
func appendRequest(b []byte, r *discovery.DeltaDiscoveryRequest) ([]byte, error) {
	if !isAck(r) {
		return proto.MarshalOptions{}.MarshalAppend(b, r)
	}
	if r.TypeUrl != "" {
		b = protowire.AppendTag(b, 2, protowire.BytesType)
		b = protowire.AppendString(b, r.TypeUrl)
	}
	if r.ResponseNonce != "" {
		b = protowire.AppendTag(b, 6, protowire.BytesType)
		b = protowire.AppendString(b, r.ResponseNonce)
	}
	return b, nil
}

// requestSize is proto.Size(r), ACKs counted by hand.
func requestSize(r *discovery.DeltaDiscoveryRequest) int {
	if !isAck(r) {
		return proto.Size(r)
	}
	n := 0
	for _, v := range []string{r.TypeUrl, r.ResponseNonce} {
		if v != "" {
			n += 1 + protowire.SizeBytes(len(v))
		}
	}
	return n
}

// isAck: r has no field but its type URL and nonce (both valid UTF-8, as
// proto.Marshal requires of strings). The sidecars build their requests
// themselves, never with unknown fields.
func isAck(r *discovery.DeltaDiscoveryRequest) bool {
	return r.Node == nil && len(r.ResourceNamesSubscribe) == 0 && len(r.ResourceNamesUnsubscribe) == 0 &&
		len(r.InitialResourceVersions) == 0 && r.ErrorDetail == nil && len(r.ResourceLocatorsSubscribe) == 0 &&
		len(r.ResourceLocatorsUnsubscribe) == 0 && utf8.ValidString(r.TypeUrl) && utf8.ValidString(r.ResponseNonce)
}

// wireReader walks one message of s (the whole gRPC message, copied once
// into a string: every string field is a substring of it).
type wireReader struct {
	s        string
	off, end int
}

// next reads a field's tag; ok false at the end or on a bad tag (then
// off is -1).
func (w *wireReader) next() (num protowire.Number, typ protowire.Type, ok bool) {
	if w.off >= w.end || w.off < 0 {
		return 0, 0, false
	}
	num, typ, n := consumeTag(w.s[w.off:w.end])
	if n < 0 {
		w.off = -1
		return 0, 0, false
	}
	w.off += n
	return num, typ, true
}

// str reads a length-delimited field as a substring; ok false if
// malformed.
func (w *wireReader) str() (string, bool) {
	v, n := consumeLen(w.s[w.off:w.end])
	if n < 0 {
		return "", false
	}
	w.off += n
	return v, true
}

// sub reads a length-delimited field as a nested message's reader.
func (w *wireReader) sub() (wireReader, bool) {
	v, n := consumeLen(w.s[w.off:w.end])
	if n < 0 {
		return wireReader{}, false
	}
	start := w.off + n - len(v)
	w.off += n
	return wireReader{s: w.s, off: start, end: start + len(v)}, true
}

func (w *wireReader) varint() (uint64, bool) {
	v, n := consumeVarint(w.s[w.off:w.end])
	if n < 0 {
		return 0, false
	}
	w.off += n
	return v, true
}

// skip passes over a field's value, checking its wire structure.
func (w *wireReader) skip(num protowire.Number, typ protowire.Type) bool {
	n := consumeFieldValue(num, typ, w.s[w.off:w.end], 0)
	if n < 0 {
		return false
	}
	w.off += n
	return true
}

// consumeTag, consumeVarint, consumeLen and consumeFieldValue are
// protowire's, on a string (no copy).
func consumeTag(s string) (protowire.Number, protowire.Type, int) {
	v, n := consumeVarint(s)
	if n < 0 {
		return 0, 0, -1
	}
	num, typ := protowire.DecodeTag(v)
	if num < protowire.MinValidNumber || num > protowire.MaxValidNumber {
		return 0, 0, -1
	}
	return num, typ, n
}

func consumeFieldValue(num protowire.Number, typ protowire.Type, s string, depth int) int {
	switch typ {
	case protowire.VarintType:
		_, n := consumeVarint(s)
		return n
	case protowire.Fixed32Type:
		if len(s) < 4 {
			return -1
		}
		return 4
	case protowire.Fixed64Type:
		if len(s) < 8 {
			return -1
		}
		return 8
	case protowire.BytesType:
		_, n := consumeLen(s)
		return n
	case protowire.StartGroupType:
		if depth > 100 {
			return -1
		}
		for off := 0; ; {
			n2, t2, n := consumeTag(s[off:])
			if n < 0 {
				return -1
			}
			off += n
			if t2 == protowire.EndGroupType {
				if n2 != num {
					return -1
				}
				return off
			}
			n = consumeFieldValue(n2, t2, s[off:], depth+1)
			if n < 0 {
				return -1
			}
			off += n
		}
	}
	return -1
}

func consumeVarint(s string) (uint64, int) {
	var v uint64
	for i := 0; i < len(s) && i < 10; i++ {
		c := s[i]
		if i == 9 && c > 1 {
			return 0, -1 // overflow
		}
		v |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			return v, i + 1
		}
	}
	return 0, -1
}

func consumeLen(s string) (string, int) {
	l, n := consumeVarint(s)
	if n < 0 || l > uint64(len(s)-n) {
		return "", -1
	}
	return s[n : n+int(l)], n + int(l)
}

// fastResponse is decodeResponse's fast path; ok false: let
// proto.Unmarshal decide.
func fastResponse(b []byte) (*discovery.DeltaDiscoveryResponse, bool) {
	w := wireReader{s: string(b), end: len(b)}
	r := &discovery.DeltaDiscoveryResponse{}
	for {
		num, typ, ok := w.next()
		if !ok {
			return r, w.off >= 0
		}
		if typ != protowire.BytesType {
			return nil, false
		}
		switch num {
		case 1, 4, 5, 6:
			v, ok := w.str()
			if !ok || !utf8.ValidString(v) {
				return nil, false
			}
			switch num {
			case 1:
				r.SystemVersionInfo = v
			case 4:
				r.TypeUrl = v
			case 5:
				r.Nonce = v
			case 6:
				r.RemovedResources = append(r.RemovedResources, v)
			}
		case 2:
			m, ok := w.sub()
			if !ok {
				return nil, false
			}
			res, ok := fastResource(m)
			if !ok {
				return nil, false
			}
			r.Resources = append(r.Resources, res)
		default:
			return nil, false
		}
	}
}

func fastResource(w wireReader) (*discovery.Resource, bool) {
	r := &discovery.Resource{}
	for {
		num, typ, ok := w.next()
		if !ok {
			return r, w.off >= 0
		}
		if typ != protowire.BytesType {
			return nil, false
		}
		switch num {
		case 1, 3, 4:
			v, ok := w.str()
			if !ok || !utf8.ValidString(v) {
				return nil, false
			}
			switch num {
			case 1:
				r.Version = v
			case 3:
				r.Name = v
			case 4:
				r.Aliases = append(r.Aliases, v)
			}
		case 2:
			m, ok := w.sub()
			if !ok {
				return nil, false
			}
			if r.Resource == nil {
				r.Resource = &anypb.Any{}
			}
			if !fastAny(m, r.Resource) {
				return nil, false
			}
		default:
			return nil, false
		}
	}
}

// fastAny merges an Any into a (a repeated singular message merges).
func fastAny(w wireReader, a *anypb.Any) bool {
	for {
		num, typ, ok := w.next()
		if !ok {
			return w.off >= 0
		}
		if typ != protowire.BytesType {
			return false
		}
		v, ok := w.str()
		if !ok {
			return false
		}
		switch num {
		case 1:
			if !utf8.ValidString(v) {
				return false
			}
			a.TypeUrl = v
		case 2:
			a.Value = []byte(v)
		default:
			return false
		}
	}
}

// heldEndpoint is one endpoint of an endpoint resource.
type heldEndpoint struct {
	addr   string
	weight uint32
	health string
}

type keyValue struct{ key, value string }

// weight is the weight of the endpoint at addr (the last listed, as a
// map filled in order would hold).
func (h *held) weight(addr string) (uint32, bool) {
	for i := len(h.eps) - 1; i >= 0; i-- {
		if h.eps[i].addr == addr {
			return h.eps[i].weight, true
		}
	}
	return 0, false
}

func (h *held) healthOf(addr string) (string, bool) {
	for i := len(h.eps) - 1; i >= 0; i-- {
		if h.eps[i].addr == addr {
			return h.eps[i].health, true
		}
	}
	return "", false
}

// meta is the endpoints' metadata value for key (the greatest, if they
// differ).
func (h *held) meta(key string) (string, bool) {
	for _, kv := range h.md {
		if kv.key == key {
			return kv.value, true
		}
	}
	return "", false
}

// addEndpoint records one endpoint; md is its "octomesh" metadata.
func (h *held) addEndpoint(host string, port uint32, weight uint32, health int32, md []keyValue) {
	addr := net.JoinHostPort(host, strconv.FormatUint(uint64(port), 10))
	h.eps = append(h.eps, heldEndpoint{addr: addr, weight: weight, health: healthName(health)})
	h.endpoints = append(h.endpoints, addr)
	for _, kv := range md {
		if i := slices.IndexFunc(h.md, func(c keyValue) bool { return c.key == kv.key }); i < 0 {
			h.md = append(h.md, kv)
		} else if kv.value > h.md[i].value {
			h.md[i].value = kv.value
		}
	}
}

var healthStrings = func() [6]string {
	var n [6]string
	for i := range n {
		n[i] = strings.ToLower(core.HealthStatus(i).String())
	}
	return n
}()

func healthName(v int32) string {
	if v >= 0 && int(v) < len(healthStrings) {
		return healthStrings[v]
	}
	return strings.ToLower(core.HealthStatus(v).String())
}

var claName = string((&endpoint.ClusterLoadAssignment{}).ProtoReflect().Descriptor().FullName())

var errWire = errors.New("cannot parse invalid wire-format data")

// decodeEndpoints reads a ClusterLoadAssignment resource into h.
func decodeEndpoints(r *discovery.Resource, h *held) error {
	a := r.GetResource()
	// Any.UnmarshalTo's check: the type URL names the message.
	url := a.GetTypeUrl()
	if i := strings.LastIndexByte(url, '/'); url[i+1:] != claName {
		return fmt.Errorf("resource %q: mismatched message type: got %q, want %q", r.GetName(), url[i+1:], claName)
	}
	if err := fastCLA(wireReader{s: string(a.GetValue()), end: len(a.GetValue())}, h); err != nil {
		return fmt.Errorf("resource %q: %v", r.GetName(), err)
	}
	slices.Sort(h.endpoints)
	return nil
}

// fastCLA walks ClusterLoadAssignment: endpoints (2) are
// LocalityLbEndpoints; every other field is skipped (structure checked).
func fastCLA(w wireReader, h *held) error {
	for {
		num, typ, ok := w.next()
		if !ok {
			break
		}
		if num == 2 && typ == protowire.BytesType {
			m, ok := w.sub()
			if !ok || !fastLocality(m, h) {
				return errWire
			}
			continue
		}
		if num == 1 && typ == protowire.BytesType { // cluster_name
			v, ok := w.str()
			if !ok {
				return errWire
			}
			if !utf8.ValidString(v) {
				return errors.New("string field contains invalid UTF-8")
			}
			continue
		}
		if !w.skip(num, typ) {
			return errWire
		}
	}
	if w.off < 0 {
		return errWire
	}
	return nil
}

// fastLocality walks LocalityLbEndpoints: lb_endpoints (2).
func fastLocality(w wireReader, h *held) bool {
	for {
		num, typ, ok := w.next()
		if !ok {
			return w.off >= 0
		}
		if num == 2 && typ == protowire.BytesType {
			m, ok := w.sub()
			if !ok || !fastLbEndpoint(m, h) {
				return false
			}
			continue
		}
		if !w.skip(num, typ) {
			return false
		}
	}
}

// lbEndpoint is what fastLbEndpoint gathers of an LbEndpoint, applied
// field by field as proto.Unmarshal merges them.
type lbEndpoint struct {
	hasEndpoint bool // the host_identifier oneof holds endpoint (1), not endpoint_name (5)
	hasSocket   bool // the address oneof holds socket_address
	host        string
	port        uint32 // port_value; 0 when named_port was set last
	health      int32
	weight      uint32
	md          []keyValue // filter_metadata["octomesh"]'s string fields
}

func fastLbEndpoint(w wireReader, h *held) bool {
	var e lbEndpoint
	for {
		num, typ, ok := w.next()
		if !ok {
			break
		}
		switch {
		case num == 1 && typ == protowire.BytesType: // endpoint
			m, ok := w.sub()
			if !ok {
				return false
			}
			if !e.hasEndpoint {
				e.hasEndpoint, e.hasSocket, e.host, e.port = true, false, "", 0
			}
			if !fastEndpoint(m, &e) {
				return false
			}
		case num == 5 && typ == protowire.BytesType: // endpoint_name
			v, ok := w.str()
			if !ok || !utf8.ValidString(v) {
				return false
			}
			e.hasEndpoint, e.hasSocket, e.host, e.port = false, false, "", 0
		case num == 2 && typ == protowire.VarintType: // health_status
			v, ok := w.varint()
			if !ok {
				return false
			}
			e.health = int32(v)
		case num == 3 && typ == protowire.BytesType: // metadata
			m, ok := w.sub()
			if !ok || !fastMetadata(m, &e) {
				return false
			}
		case num == 4 && typ == protowire.BytesType: // load_balancing_weight
			m, ok := w.sub()
			if !ok || !fastUInt32Value(m, &e.weight) {
				return false
			}
		default:
			if !w.skip(num, typ) {
				return false
			}
		}
	}
	if w.off < 0 {
		return false
	}
	h.addEndpoint(e.host, e.port, e.weight, e.health, e.md)
	return true
}

// fastEndpoint walks Endpoint: address (1).
func fastEndpoint(w wireReader, e *lbEndpoint) bool {
	for {
		num, typ, ok := w.next()
		if !ok {
			return w.off >= 0
		}
		if num == 1 && typ == protowire.BytesType {
			m, ok := w.sub()
			if !ok || !fastAddress(m, e) {
				return false
			}
			continue
		}
		if (num == 3 || num == 5) && typ == protowire.BytesType { // hostname, observability_name
			v, ok := w.str()
			if !ok || !utf8.ValidString(v) {
				return false
			}
			continue
		}
		if !w.skip(num, typ) {
			return false
		}
	}
}

// fastAddress walks Address: socket_address (1), or another member of
// its oneof (pipe 2, envoy_internal_address 3).
func fastAddress(w wireReader, e *lbEndpoint) bool {
	for {
		num, typ, ok := w.next()
		if !ok {
			return w.off >= 0
		}
		switch {
		case num == 1 && typ == protowire.BytesType:
			m, ok := w.sub()
			if !ok {
				return false
			}
			if !e.hasSocket {
				e.hasSocket, e.host, e.port = true, "", 0
			}
			if !fastSocketAddress(m, e) {
				return false
			}
		case (num == 2 || num == 3) && typ == protowire.BytesType:
			e.hasSocket, e.host, e.port = false, "", 0
			if !w.skip(num, typ) {
				return false
			}
		default:
			if !w.skip(num, typ) {
				return false
			}
		}
	}
}

// fastSocketAddress walks SocketAddress: address (2), port_value (3),
// named_port (4, the other member of port_value's oneof).
func fastSocketAddress(w wireReader, e *lbEndpoint) bool {
	for {
		num, typ, ok := w.next()
		if !ok {
			return w.off >= 0
		}
		switch {
		case (num == 2 || num == 4 || num == 5) && typ == protowire.BytesType:
			v, ok := w.str()
			if !ok || !utf8.ValidString(v) {
				return false
			}
			switch num {
			case 2:
				e.host = v
			case 4:
				e.port = 0
			}
		case num == 3 && typ == protowire.VarintType:
			v, ok := w.varint()
			if !ok {
				return false
			}
			e.port = uint32(v)
		default:
			if !w.skip(num, typ) {
				return false
			}
		}
	}
}

func fastUInt32Value(w wireReader, v *uint32) bool {
	for {
		num, typ, ok := w.next()
		if !ok {
			return w.off >= 0
		}
		if num == 1 && typ == protowire.VarintType {
			x, ok := w.varint()
			if !ok {
				return false
			}
			*v = uint32(x)
			continue
		}
		if !w.skip(num, typ) {
			return false
		}
	}
}

// fastMetadata walks Metadata: filter_metadata (1), a map entry (key 1,
// value 2: a Struct); the entry "octomesh" replaces what an earlier one
// held.
func fastMetadata(w wireReader, e *lbEndpoint) bool {
	for {
		num, typ, ok := w.next()
		if !ok {
			return w.off >= 0
		}
		if num != 1 || typ != protowire.BytesType {
			if !w.skip(num, typ) {
				return false
			}
			continue
		}
		entry, ok := w.sub()
		if !ok {
			return false
		}
		key := ""
		var md []keyValue
		for {
			n, t, ok := entry.next()
			if !ok {
				break
			}
			switch {
			case n == 1 && t == protowire.BytesType:
				if key, ok = entry.str(); !ok || !utf8.ValidString(key) {
					return false
				}
			case n == 2 && t == protowire.BytesType:
				// Seen twice, the value's fields merge: both add to md.
				val, ok := entry.sub()
				if !ok || !fastStruct(val, &md) {
					return false
				}
			default:
				if !entry.skip(n, t) {
					return false
				}
			}
		}
		if entry.off < 0 {
			return false
		}
		if key == "octomesh" {
			e.md = md
		}
	}
}

// fastStruct walks Struct: fields (1), map entries of string to Value; a
// later entry of a key replaces an earlier one.
func fastStruct(w wireReader, md *[]keyValue) bool {
	for {
		num, typ, ok := w.next()
		if !ok {
			return w.off >= 0
		}
		if num != 1 || typ != protowire.BytesType {
			if !w.skip(num, typ) {
				return false
			}
			continue
		}
		entry, ok := w.sub()
		if !ok {
			return false
		}
		key, value := "", ""
		for {
			n, t, ok := entry.next()
			if !ok {
				break
			}
			switch {
			case n == 1 && t == protowire.BytesType:
				if key, ok = entry.str(); !ok || !utf8.ValidString(key) {
					return false
				}
			case n == 2 && t == protowire.BytesType:
				m, ok := entry.sub()
				if !ok || !fastValue(m, &value) {
					return false
				}
			default:
				if !entry.skip(n, t) {
					return false
				}
			}
		}
		if entry.off < 0 {
			return false
		}
		if i := slices.IndexFunc(*md, func(c keyValue) bool { return c.key == key }); i >= 0 {
			(*md)[i].value = value
		} else {
			*md = append(*md, keyValue{key, value})
		}
	}
}

// fastValue walks Value: its kind oneof; string_value (3) if set last.
func fastValue(w wireReader, v *string) bool {
	for {
		num, typ, ok := w.next()
		if !ok {
			return w.off >= 0
		}
		switch {
		case num == 3 && typ == protowire.BytesType:
			s, ok := w.str()
			if !ok || !utf8.ValidString(s) {
				return false
			}
			*v = s
		case num >= 1 && num <= 6:
			*v = ""
			if !w.skip(num, typ) {
				return false
			}
		default:
			if !w.skip(num, typ) {
				return false
			}
		}
	}
}
