package inspect

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sort"

	pilotapi "github.com/octomesh/octomesh/api/pilot"
	"github.com/octomesh/octomesh/api/registry"
	"github.com/octomesh/octomesh/config"
)

// ServiceDescription is a service as the registry and the pilots see it.
type ServiceDescription struct {
	Service string `json:"service"`
	// Instances, sorted by zone, SET and address, each with its health.
	Instances []InstanceView `json:"instances"`
	// Policy is the service's policy ({} when none): circuit breaker,
	// retry budget, outlier detection, and the rules of calls to it that
	// proxyless clients follow.
	Policy registry.ServicePolicy `json:"policy"`
	// Rules are the apps' route rules that send calls to the service (a
	// sidecar follows its app's rules).
	Rules []AppliedRule `json:"rules"`
	// Subscribers are the nodes subscribed to its endpoints, on the pilots
	// that answered.
	Subscribers []string `json:"subscribers"`
	// Source is the address whose registration API answered.
	Source      string        `json:"source"`
	Unreachable []Unreachable `json:"unreachable,omitempty"`
}

// InstanceView is one instance with its health.
type InstanceView struct {
	registry.Instance
	// Health: "healthy", "down" (a scanner's mark: Mark says who saw it,
	// since when and why) or "draining" (weight 0).
	Health string               `json:"health"`
	Mark   *registry.HealthMark `json:"mark,omitempty"`
}

// DescribeService gathers service's instances, health marks, policy and
// the rules that apply to it. The registry is asked through the first
// source that answers: Meta when given, else each pilot in turn; health
// marks and rules come from the first pilot that answers /debug/service.
func (in *Inspector) DescribeService(ctx context.Context, service string) (ServiceDescription, error) {
	if err := config.CheckName(service); err != nil {
		return ServiceDescription{}, fmt.Errorf("inspect: service: %v", err)
	}
	pilots, bad, err := in.Pilots(ctx)
	if err != nil {
		return ServiceDescription{}, err
	}
	d := ServiceDescription{Service: service, Instances: []InstanceView{}, Rules: []AppliedRule{}, Subscribers: []string{}, Unreachable: bad}
	var sources []string
	if in.opts.Meta != "" {
		sources = append(sources, in.opts.Meta)
	}
	for _, p := range pilots {
		sources = append(sources, p.HTTP)
	}
	// The registration API: instances and policy.
	var instances []registry.Instance
	var regErrs []Unreachable
	for _, src := range sources {
		var policy registry.ServicePolicy
		instances, policy, err = in.registry(ctx, src, service)
		if err != nil {
			regErrs = append(regErrs, Unreachable{Source: "registry " + src, Error: err.Error()})
			continue
		}
		d.Source, d.Policy = src, policy
		break
	}
	if d.Source == "" {
		return d, fmt.Errorf("inspect: no registry answered: %s", unreachableText(regErrs))
	}
	d.Unreachable = append(d.Unreachable, regErrs...)
	// The pilots: health marks and rules from one, subscribers from all.
	infos := make([]*serviceInfo, len(pilots))
	statuses := make([][]sessionStatus, len(pilots))
	errs := make([]error, len(pilots))
	eachPilot(pilots, func(i int, p Pilot) {
		var info serviceInfo
		if err := in.get(ctx, p.HTTP, pilotapi.ServicePath+"?name="+url.QueryEscape(service), &info); err != nil {
			errs[i] = err
			return
		}
		infos[i] = &info
		var list []sessionStatus
		if err := in.get(ctx, p.HTTP, pilotapi.StatusPath, &list); err != nil {
			errs[i] = err
			return
		}
		statuses[i] = list
	})
	var info *serviceInfo
	subs := map[string]bool{}
	for i, p := range pilots {
		if errs[i] != nil {
			d.Unreachable = append(d.Unreachable, Unreachable{Source: "pilot " + p.Name(), Error: errs[i].Error()})
		}
		if info == nil && infos[i] != nil {
			info = infos[i]
		}
		for _, s := range statuses[i] {
			for _, r := range s.Kinds["endpoint"].Resources {
				if r.Name == service {
					subs[s.Node] = true
				}
			}
		}
	}
	for n := range subs {
		d.Subscribers = append(d.Subscribers, n)
	}
	sort.Strings(d.Subscribers)
	marks := map[string]registry.HealthMark{}
	if info != nil {
		for _, m := range info.Marks {
			marks[m.Address] = m
		}
		d.Rules = append(d.Rules, info.Rules...)
	} else {
		d.Unreachable = append(d.Unreachable, Unreachable{Source: "health marks and rules", Error: "no pilot answered: instances are shown without health"})
	}
	for _, ins := range instances {
		iv := InstanceView{Instance: ins, Health: "healthy"}
		if info == nil {
			iv.Health = "unknown"
		}
		if m, ok := marks[ins.Address]; ok {
			iv.Health, iv.Mark = "down", &m
		} else if ins.Weight == 0 {
			iv.Health = "draining"
		}
		d.Instances = append(d.Instances, iv)
	}
	sort.Slice(d.Instances, func(i, j int) bool {
		a, b := d.Instances[i], d.Instances[j]
		if a.Zone != b.Zone {
			return a.Zone < b.Zone
		}
		if a.Set != b.Set {
			return a.Set < b.Set
		}
		return a.Address < b.Address
	})
	return d, nil
}

// registry reads service's instances and policy through src's
// registration API.
func (in *Inspector) registry(ctx context.Context, src, service string) ([]registry.Instance, registry.ServicePolicy, error) {
	c, err := registry.NewClientTLS(src, in.opts.TLS)
	if err != nil {
		return nil, registry.ServicePolicy{}, err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(ctx, in.opts.Timeout)
	defer cancel()
	instances, err := c.Instances(ctx, service)
	if err != nil {
		return nil, registry.ServicePolicy{}, timeoutText(err, in)
	}
	policy, err := c.Policy(ctx, service)
	if err != nil {
		return nil, registry.ServicePolicy{}, timeoutText(err, in)
	}
	return instances, policy, nil
}

func timeoutText(err error, in *Inspector) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("no answer within %v", in.opts.Timeout)
	}
	return err
}
