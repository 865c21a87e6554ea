package router

import (
	"fmt"
	"sync/atomic"
	"time"
)

// Any matches every service or method.
const Any = "*"

// Route is where matching requests go. T is the target (a cluster).
type Route[T any] struct {
	Service, Method string
	Target          T
	Timeout         time.Duration
}

// Table is an immutable route table.
type Table[T any] struct {
	services map[string]*methods[T]
	any      methods[T] // routes for service "*"
	n        int
}

type methods[T any] struct {
	exact map[string]*Route[T]
	any   *Route[T]
}

// NewTable builds a table; two routes with the same match are an error.
func NewTable[T any](routes []Route[T]) (*Table[T], error) {
	t := &Table[T]{services: map[string]*methods[T]{}, n: len(routes)}
	for i := range routes {
		r := &routes[i]
		m := &t.any
		if r.Service != Any {
			if m = t.services[r.Service]; m == nil {
				m = &methods[T]{}
				t.services[r.Service] = m
			}
		}
		if r.Method == Any {
			if m.any != nil {
				return nil, fmt.Errorf("router: two routes for service %q, any method", r.Service)
			}
			m.any = r
			continue
		}
		if m.exact == nil {
			m.exact = map[string]*Route[T]{}
		}
		if m.exact[r.Method] != nil {
			return nil, fmt.Errorf("router: two routes for service %q, method %q", r.Service, r.Method)
		}
		m.exact[r.Method] = r
	}
	return t, nil
}

// Lookup returns the route for service and method (views into a frame), or
// nil. It allocates nothing.
func (t *Table[T]) Lookup(service, method []byte) *Route[T] {
	if m := t.services[string(service)]; m != nil {
		if r := m.exact[string(method)]; r != nil {
			return r
		}
		if m.any != nil {
			return m.any
		}
	}
	if r := t.any.exact[string(method)]; r != nil {
		return r
	}
	return t.any.any
}

// Len is the number of routes.
func (t *Table[T]) Len() int { return t.n }

// Router holds the current Table.
type Router[T any] struct{ p atomic.Pointer[Table[T]] }

// Load returns the current table (nil before the first Store).
func (r *Router[T]) Load() *Table[T] { return r.p.Load() }

// Store publishes t to every later Load.
func (r *Router[T]) Store(t *Table[T]) { r.p.Store(t) }
