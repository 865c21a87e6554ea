package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/octomesh/octomesh/api/release"
	"github.com/octomesh/octomesh/api/rules"
	"github.com/octomesh/octomesh/cp/inspect"
)

// SidecarsView is /api/sidecars: ctl proxy-status's data, with each
// sidecar's own config version.
type SidecarsView struct {
	Pilots   []inspect.PilotState `json:"pilots"`
	Sidecars []SidecarRow         `json:"sidecars"`
	// Agents are the node agents' last reports (the operator API's GET
	// /v1/nodes): the version their sidecar runs, its restarts, its state
	// in a release.
	Agents []release.NodeReport `json:"agents"`
	// Releases are the releases in progress (running, paused, rolling
	// back).
	Releases    []release.Release     `json:"releases"`
	Unreachable []inspect.Unreachable `json:"unreachable,omitempty"`
}

// SidecarRow is one sidecar.
type SidecarRow struct {
	inspect.SidecarStatus
	// ConfigVersion is the version of the config the sidecar runs (its
	// /config_dump), when its admin endpoint answered.
	ConfigVersion string `json:"config_version,omitempty"`
	// Stale: some kind is STALE or NACKED.
	Stale bool `json:"stale"`
	// AdminError says why its admin endpoint did not answer.
	AdminError string `json:"admin_error,omitempty"`
	// Agent is its node agent's last report, when an agent runs it.
	Agent *release.NodeReport `json:"agent,omitempty"`
}

// Sidecars gathers the sidecars' sync state and config versions.
func (c *Console) Sidecars(ctx context.Context) (SidecarsView, error) {
	st, err := c.in.ProxyStatus(ctx)
	if err != nil {
		return SidecarsView{}, err
	}
	v := SidecarsView{Pilots: st.Pilots, Sidecars: make([]SidecarRow, len(st.Sidecars)), Agents: []release.NodeReport{},
		Releases: []release.Release{}, Unreachable: st.Unreachable}
	var wg sync.WaitGroup
	var agentErr, releaseErr error
	if c.release != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rctx, cancel := context.WithTimeout(ctx, c.timeout())
			defer cancel()
			if nodes, err := c.release.Nodes(rctx); err != nil {
				agentErr = err
			} else {
				v.Agents = nodes
			}
			if rels, err := c.release.Releases(rctx); err != nil {
				releaseErr = err
			} else {
				for _, r := range rels {
					if r.Active() {
						v.Releases = append(v.Releases, r)
					}
				}
			}
		}()
	}
	for i, s := range st.Sidecars {
		row := SidecarRow{SidecarStatus: s, Stale: !s.Synced()}
		v.Sidecars[i] = row
		if s.Admin == "" {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			ver, err := c.configVersion(ctx, s.Admin)
			if err != nil {
				v.Sidecars[i].AdminError = err.Error()
				return
			}
			v.Sidecars[i].ConfigVersion = ver
		}()
	}
	wg.Wait()
	if agentErr != nil {
		v.Unreachable = append(v.Unreachable, inspect.Unreachable{Source: "node reports (" + c.opts.RulesServer + " GET /v1/nodes)", Error: agentErr.Error()})
	}
	if releaseErr != nil {
		v.Unreachable = append(v.Unreachable, inspect.Unreachable{Source: "releases (" + c.opts.RulesServer + " GET /v1/releases)", Error: releaseErr.Error()})
	}
	sort.Slice(v.Agents, func(i, j int) bool { return v.Agents[i].Node < v.Agents[j].Node })
	for i := range v.Sidecars {
		for j := range v.Agents {
			if v.Agents[j].Node == v.Sidecars[i].Node {
				v.Sidecars[i].Agent = &v.Agents[j]
			}
		}
	}
	for _, s := range v.Sidecars {
		if s.AdminError != "" {
			v.Unreachable = append(v.Unreachable, inspect.Unreachable{Source: fmt.Sprintf("sidecar %s (%s)", s.Node, s.Admin), Error: s.AdminError})
		}
	}
	return v, nil
}

// configVersion reads a sidecar's /config_dump version.
func (c *Console) configVersion(ctx context.Context, admin string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+admin+"/config_dump", nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("GET /config_dump: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET /config_dump: %s", resp.Status)
	}
	var d struct {
		Version string `json:"version"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&d); err != nil {
		return "", fmt.Errorf("GET /config_dump: a bad answer: %v", err)
	}
	return d.Version, nil
}

// RulesView is /api/rules: the governance documents by service.
type RulesView struct {
	Source   string         `json:"source"`
	Services []ServiceRules `json:"services"`
	Count    int            `json:"count"`
}

// ServiceRules are the documents that target one service.
type ServiceRules struct {
	Service   string           `json:"service"`
	Documents []rules.Document `json:"documents"`
}

// Rules lists every document from the rule API, by service.
func (c *Console) Rules(ctx context.Context) (RulesView, error) {
	if c.rules == nil {
		return RulesView{}, errors.New("no rule API: start the console with --rules-server")
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout())
	defer cancel()
	docs, err := c.rules.List(ctx, "")
	if err != nil {
		return RulesView{}, fmt.Errorf("rule API %s: %v", c.opts.RulesServer, err)
	}
	by := map[string][]rules.Document{}
	for _, d := range docs {
		by[d.Target.Service] = append(by[d.Target.Service], d)
	}
	v := RulesView{Source: c.opts.RulesServer, Services: []ServiceRules{}, Count: len(docs)}
	for s, list := range by {
		v.Services = append(v.Services, ServiceRules{Service: s, Documents: list})
	}
	sort.Slice(v.Services, func(i, j int) bool { return v.Services[i].Service < v.Services[j].Service })
	return v, nil
}

// RuleHistory is one document and its previous versions.
func (c *Console) RuleHistory(ctx context.Context, kind, name string) (*rules.HistoryResponse, error) {
	if c.rules == nil {
		return nil, errors.New("no rule API: start the console with --rules-server")
	}
	if !rules.KnownKind(kind) {
		return nil, &clientError{http.StatusBadRequest, fmt.Errorf("kind %q: not a rule kind (%v)", kind, rules.Kinds())}
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout())
	defer cancel()
	h, err := c.rules.History(ctx, kind, name)
	if errors.Is(err, rules.ErrNotFound) {
		return nil, &clientError{http.StatusNotFound, fmt.Errorf("%s/%s: no such document", kind, name)}
	}
	if err != nil {
		return nil, fmt.Errorf("rule API %s: %v", c.opts.RulesServer, err)
	}
	return h, nil
}

// timeout bounds each call to a source: the Inspect options' timeout.
func (c *Console) timeout() time.Duration {
	if t := c.opts.Inspect.Timeout; t > 0 {
		return t
	}
	return inspect.DefaultTimeout
}
