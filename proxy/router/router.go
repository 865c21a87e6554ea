package router

import (
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/octomesh/octomesh/codec"
)

// Any matches every service or method.
const Any = "*"

// Route is where matching requests go. T is the target.
type Route[T any] struct {
	Service, Method string
	// Match lists TTHeader string info keys and the values a call must
	// carry as well (every one of them); empty matches every call.
	Match  [][2]string
	Target T
}

// Table is an immutable route table.
type Table[T any] struct {
	services map[string]*methods[T]
	any      methods[T] // routes for service "*"
	matching bool       // some route has a Match
	n        int
}

type methods[T any] struct {
	exact map[string]*bucket[T]
	any   *bucket[T]
}

// bucket holds the routes of one (service, method): those with a Match, in
// the order given, and the one without.
type bucket[T any] struct {
	matched []*Route[T]
	plain   *Route[T]
}

// NewTable builds a table; two routes with the same service, method and
// match are an error.
func NewTable[T any](routes []Route[T]) (*Table[T], error) {
	t := &Table[T]{services: map[string]*methods[T]{}, n: len(routes)}
	seen := map[string]bool{}
	for i := range routes {
		r := &routes[i]
		key := r.Service + "\x00" + r.Method + "\x00" + fmt.Sprint(r.Match)
		if seen[key] {
			return nil, fmt.Errorf("router: two routes for service %q, method %q%s", r.Service, r.Method, describe(r.Match))
		}
		seen[key] = true
		m := &t.any
		if r.Service != Any {
			if m = t.services[r.Service]; m == nil {
				m = &methods[T]{}
				t.services[r.Service] = m
			}
		}
		var b *bucket[T]
		if r.Method == Any {
			if m.any == nil {
				m.any = &bucket[T]{}
			}
			b = m.any
		} else {
			if m.exact == nil {
				m.exact = map[string]*bucket[T]{}
			}
			if b = m.exact[r.Method]; b == nil {
				b = &bucket[T]{}
				m.exact[r.Method] = b
			}
		}
		if len(r.Match) > 0 {
			b.matched = append(b.matched, r)
			t.matching = true
		} else {
			b.plain = r
		}
	}
	return t, nil
}

func describe(match [][2]string) string {
	if len(match) == 0 {
		return ""
	}
	parts := make([]string, len(match))
	for i, kv := range match {
		parts[i] = kv[0] + "=" + kv[1]
	}
	return " with " + strings.Join(parts, ", ")
}

// Lookup returns the route for the call h decoded from frame, or nil. The
// buckets are tried from the most specific (service, method) to the least;
// a route whose Match the call satisfies wins over every route without
// one. It allocates nothing.
func (t *Table[T]) Lookup(h *codec.Header, frame []byte) *Route[T] {
	var buckets [4]*bucket[T]
	n := 0
	if m := t.services[string(h.Service)]; m != nil {
		if b := m.exact[string(h.Method)]; b != nil {
			buckets[n], n = b, n+1
		}
		if m.any != nil {
			buckets[n], n = m.any, n+1
		}
	}
	if b := t.any.exact[string(h.Method)]; b != nil {
		buckets[n], n = b, n+1
	}
	if t.any.any != nil {
		buckets[n], n = t.any.any, n+1
	}
	if t.matching {
		for _, b := range buckets[:n] {
			for _, r := range b.matched {
				if matches(r.Match, h, frame) {
					return r
				}
			}
		}
	}
	for _, b := range buckets[:n] {
		if b.plain != nil {
			return b.plain
		}
	}
	return nil
}

func matches(match [][2]string, h *codec.Header, frame []byte) bool {
	for _, kv := range match {
		v := h.StrInfo(frame, kv[0])
		if v == nil || string(v) != kv[1] {
			return false
		}
	}
	return true
}

// Len is the number of routes.
func (t *Table[T]) Len() int { return t.n }

// Router holds the current Table.
type Router[T any] struct{ p atomic.Pointer[Table[T]] }

// Load returns the current table (nil before the first Store).
func (r *Router[T]) Load() *Table[T] { return r.p.Load() }

// Store publishes t to every later Load.
func (r *Router[T]) Store(t *Table[T]) { r.p.Store(t) }
