package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	api "github.com/octomesh/octomesh/api/ca"
	"github.com/octomesh/octomesh/config"
	"github.com/octomesh/octomesh/proxy/downstream"
	"github.com/octomesh/octomesh/proxy/xds"
)

// xdsLink is the sidecar's link to the control plane, when the config has
// an xds section: the client that applies the pilot's clusters and routes
// to this Server, and the listener whose routes it manages.
type xdsLink struct {
	client   *xds.Client
	listener *listener
}

// initXDS builds the xDS client (New calls it); it connects in startXDS.
func (s *Server) initXDS() error {
	if s.cfg.XDS == nil {
		return nil
	}
	opts := xds.FromConfig(s.cfg, s.log)
	if s.cfg.XDS.TLS.ModeOf() == config.TLSStrict {
		opts.TLS = s.controlPlaneTLS("pilot", api.PilotApp)
		opts.MetaTLS = s.controlPlaneTLS("meta", api.MetaApp)
	}
	c, err := xds.New(opts, s)
	if err != nil {
		return s.cfg.Errorf("xds.pilot", "%v", err)
	}
	s.xds = &xdsLink{client: c, listener: s.listener(s.cfg.XDS.Listener)}
	s.xds.listener.dl.OnDemand = onDemand{c}
	return nil
}

// startXDS serves the xDS admin endpoints and connects to the pilot (Start
// calls it once the admin endpoint is up):
//
//	POST /subscribe   services the app calls: a JSON list ["a","b"], or a
//	                  form with one "service" value per service
//	GET  /xds         the client's state: subscriptions, versions, what it applied
func (s *Server) startXDS() {
	if s.xds == nil {
		return
	}
	if s.admin != nil {
		s.admin.HandleMutating("POST /subscribe", http.HandlerFunc(s.serveSubscribe))
		s.admin.Handle("GET /xds", http.HandlerFunc(s.serveXDS))
	}
	var inbound []string
	for _, l := range s.listeners {
		if !l.appFacing && l.ln != nil {
			inbound = append(inbound, l.ln.Addr())
		}
	}
	s.xds.client.SetInbound(inbound)
	if s.admin != nil {
		s.xds.client.SetAdmin(s.admin.Addr())
	}
	s.xds.client.Start()
}

// closeXDS stops the client (Close calls it first, so that no update
// arrives while the sidecar shuts down).
func (s *Server) closeXDS() {
	if s.xds != nil {
		s.xds.client.Close()
	}
}

// XDS is the sidecar's xDS client, nil without an xds section.
func (s *Server) XDS() *xds.Client {
	if s.xds == nil {
		return nil
	}
	return s.xds.client
}

// onDemand lets the xDS listener's calls to a service not subscribed yet
// subscribe and wait for the pilot (downstream.OnDemand).
type onDemand struct{ c *xds.Client }

func (o onDemand) Await(service string) downstream.Found {
	switch {
	case o.c.Await(service):
		return downstream.Routed
	case o.c.Absent(service):
		return downstream.NoInstances
	}
	return downstream.NotFound
}

// maxSubscribeBody bounds a /subscribe request.
const maxSubscribeBody = 64 << 10

func (s *Server) serveSubscribe(w http.ResponseWriter, r *http.Request) {
	services, err := parseSubscribe(r)
	if err == nil {
		err = s.xds.client.Subscribe(services...)
	}
	if err != nil {
		http.Error(w, "subscribe: "+err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string][]string{"subscribed": services})
}

// parseSubscribe reads the services of a /subscribe request and validates
// their names.
func parseSubscribe(r *http.Request) ([]string, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxSubscribeBody+1))
	if err != nil {
		return nil, err
	}
	if len(body) > maxSubscribeBody {
		return nil, fmt.Errorf("body larger than %d bytes", maxSubscribeBody)
	}
	var services []string
	ct := r.Header.Get("Content-Type")
	switch {
	case strings.HasPrefix(ct, "application/x-www-form-urlencoded"):
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		if err := r.ParseForm(); err != nil {
			return nil, fmt.Errorf("form: %v", err)
		}
		services = r.PostForm["service"]
	default:
		if err := json.Unmarshal(body, &services); err != nil {
			return nil, errors.New(`body: want a JSON list of service names, like ["echo","user"], or a form with service=echo&service=user`)
		}
	}
	if len(services) == 0 {
		return nil, errors.New("no services given")
	}
	for i, name := range services {
		if err := config.CheckName(name); err != nil {
			return nil, fmt.Errorf("services[%d]: %v", i, err)
		}
	}
	return services, nil
}

func (s *Server) serveXDS(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(s.xds.client.Status())
}
