package server

import (
	"fmt"

	"github.com/octomesh/octomesh/config"
)

// authorization is the listener's rule sets: its static ones, then those
// the pilot pushed, a static one winning over a pushed one of the same
// service or name (config.MergeAuthorization).
func (l *listener) authorization() []config.AuthzPolicy {
	merged, _ := config.MergeAuthorization(l.cfg.Authorization, l.pushedAuthz)
	return merged
}

// ApplyAuthorization replaces the rule sets the pilot pushed for the named
// listener (its static ones stay, and win over a pushed one of the same
// service or name: that one is left out, logged). The listener's route
// table is rebuilt with the merged rule sets and swapped in at once; a
// call sees the old rules or the new ones, never a mix. With no rule set
// left, the routes carry no authz filter at all. On error nothing
// changes.
func (s *Server) ApplyAuthorization(listener string, pushed []config.AuthzPolicy) error {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	l := s.listener(listener)
	if l == nil {
		return fmt.Errorf("no listener %q", listener)
	}
	if l.appFacing {
		return fmt.Errorf("listener %s: a Unix socket (the local app's) has no authorization: callers are known by their certificates", listener)
	}
	merged, shadowed := config.MergeAuthorization(l.cfg.Authorization, pushed)
	if fe := config.CheckAuthorization(merged); fe != nil {
		return fmt.Errorf("listener %s: %v", listener, fe)
	}
	prev := l.pushedAuthz
	l.pushedAuthz = append([]config.AuthzPolicy(nil), pushed...)
	s.state.Begin(l.name)
	t, fe := s.routeTable(l, *l.routes.Load(), *s.clusters.Load())
	if fe != nil {
		l.pushedAuthz = prev // as ApplyRoutes: no End, the live table's state stays
		return fmt.Errorf("listener %s: %v", listener, fe)
	}
	l.dl.Routes.Store(t)
	s.state.End(l.name)
	if len(shadowed) > 0 {
		s.log.Warn("authorization: the listener's static rule sets win over pushed ones of the same service or name", "listener", listener, "left_out", shadowed)
	}
	return nil
}
