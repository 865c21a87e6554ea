package inspect

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"github.com/octomesh/octomesh/api/registry"
)

// ServicesView is every service the mesh knows, with its instances'
// health as the scanners and the calling sidecars see it.
type ServicesView struct {
	Services    []ServiceOverview `json:"services"`
	Unreachable []Unreachable     `json:"unreachable,omitempty"`
}

// ServiceOverview is one service: DescribeService's view, and for each
// instance what the sidecars that call it see (outlier ejections).
type ServiceOverview struct {
	Service     string                 `json:"service"`
	Instances   []InstanceOverview     `json:"instances"`
	Policy      registry.ServicePolicy `json:"policy"`
	Rules       []AppliedRule          `json:"rules"`
	Subscribers []string               `json:"subscribers"`
	Unreachable []Unreachable          `json:"unreachable,omitempty"`
}

// InstanceOverview is an instance with its health (InstanceView) and its
// state in each calling sidecar's balancer.
type InstanceOverview struct {
	InstanceView
	// Seen: the calling sidecars' view of the endpoint (GET /clusters).
	Seen []EndpointSeen `json:"seen"`
	// Ejected: some calling sidecar's outlier detection holds it out.
	Ejected bool `json:"ejected"`
}

// EndpointSeen is an instance as one calling sidecar's /clusters shows it.
type EndpointSeen struct {
	Node string `json:"node"`
	// Health: "marked down", "ejected", "healthy", "unreachable", "idle".
	Health string `json:"health"`
	// State and Reason: outlier detection's ("healthy", "degraded",
	// "ejected"), on clusters that have it.
	State     string `json:"state,omitempty"`
	Reason    string `json:"reason,omitempty"`
	LastError string `json:"last_error,omitempty"`
}

// clustersDump is a sidecar's GET /clusters (proxy/server's clusterDump),
// the fields read here.
type clustersDump struct {
	Clusters []struct {
		Name      string `json:"name"`
		Endpoints []struct {
			Address   string `json:"address"`
			Health    string `json:"health"`
			State     string `json:"state"`
			Reason    string `json:"reason"`
			LastError string `json:"last_error"`
		} `json:"endpoints"`
	} `json:"clusters"`
}

// ServiceNames are the services the mesh knows of: those the sidecars
// subscribe to (the pilots' sessions) and those the scanners check.
func (in *Inspector) ServiceNames(ctx context.Context) ([]string, []Unreachable, error) {
	st, err := in.ProxyStatus(ctx)
	if err != nil {
		return nil, nil, err
	}
	names := map[string]bool{}
	for _, s := range st.Sidecars {
		for _, r := range s.EDS.Resources {
			names[r.Name] = true
		}
	}
	bad := st.Unreachable
	if scanners, known, _ := in.Scanners(ctx); known {
		for _, sc := range scanners {
			for _, t := range sc.Targets {
				for _, s := range t.Services {
					names[s] = true
				}
			}
		}
	}
	out := make([]string, 0, len(names))
	for n := range names {
		out = append(out, n)
	}
	sort.Strings(out)
	return out, bad, nil
}

// Services describes every service ServiceNames finds.
func (in *Inspector) Services(ctx context.Context) (ServicesView, error) {
	names, bad, err := in.ServiceNames(ctx)
	if err != nil {
		return ServicesView{}, err
	}
	v := ServicesView{Services: make([]ServiceOverview, len(names)), Unreachable: bad}
	seen, sbad := in.endpointsSeen(ctx)
	v.Unreachable = append(v.Unreachable, sbad...)
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			v.Services[i], errs[i] = in.serviceOverview(ctx, name, seen)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			v.Unreachable = append(v.Unreachable, Unreachable{Source: "service " + names[i], Error: err.Error()})
			v.Services[i] = ServiceOverview{Service: names[i], Instances: []InstanceOverview{}, Rules: []AppliedRule{}, Subscribers: []string{}}
		}
	}
	return v, nil
}

// Service describes one service with the calling sidecars' view.
func (in *Inspector) Service(ctx context.Context, name string) (ServiceOverview, error) {
	seen, bad := in.endpointsSeen(ctx)
	o, err := in.serviceOverview(ctx, name, seen)
	o.Unreachable = append(o.Unreachable, bad...)
	return o, err
}

func (in *Inspector) serviceOverview(ctx context.Context, name string, seen map[string]map[string][]EndpointSeen) (ServiceOverview, error) {
	d, err := in.DescribeService(ctx, name)
	if err != nil {
		return ServiceOverview{}, err
	}
	o := ServiceOverview{Service: d.Service, Instances: make([]InstanceOverview, len(d.Instances)), Policy: d.Policy, Rules: d.Rules,
		Subscribers: d.Subscribers, Unreachable: d.Unreachable}
	for i, iv := range d.Instances {
		io := InstanceOverview{InstanceView: iv, Seen: seen[name][iv.Address]}
		if io.Seen == nil {
			io.Seen = []EndpointSeen{}
		}
		for _, s := range io.Seen {
			if s.Health == "ejected" || s.State == "ejected" {
				io.Ejected = true
			}
		}
		o.Instances[i] = io
	}
	return o, nil
}

// endpointsSeen reads every calling sidecar's /clusters: by cluster
// (service) and endpoint address, what each sidecar sees.
func (in *Inspector) endpointsSeen(ctx context.Context) (map[string]map[string][]EndpointSeen, []Unreachable) {
	out := map[string]map[string][]EndpointSeen{}
	st, err := in.ProxyStatus(ctx)
	if err != nil {
		return out, []Unreachable{{Source: "sidecars' /clusters", Error: err.Error()}}
	}
	var bad []Unreachable
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, s := range st.Sidecars {
		if s.Admin == "" || !s.Delta {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var d clustersDump
			err := in.getAdmin(ctx, s.Admin, "/clusters", &d)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				bad = append(bad, Unreachable{Source: fmt.Sprintf("sidecar %s (%s)", s.Node, s.Admin), Error: err.Error()})
				return
			}
			for _, c := range d.Clusters {
				m := out[c.Name]
				if m == nil {
					m = map[string][]EndpointSeen{}
					out[c.Name] = m
				}
				for _, e := range c.Endpoints {
					m[e.Address] = append(m[e.Address], EndpointSeen{Node: s.Node, Health: e.Health, State: e.State, Reason: e.Reason, LastError: e.LastError})
				}
			}
		}()
	}
	wg.Wait()
	for _, m := range out {
		for _, list := range m {
			sort.Slice(list, func(i, j int) bool { return list[i].Node < list[j].Node })
		}
	}
	sort.Slice(bad, func(i, j int) bool { return bad[i].Source < bad[j].Source })
	return out, bad
}
