package xds

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/octomesh/octomesh/config"
)

// metaClient asks a Meta Server (cp/meta) which pilot serves an app:
//
//	GET /v1/owner?app=A[&avoid=P&wait=D] -> {"app": A, "pilot": {"id": ..., "xds": ...}}
type metaClient struct {
	http *http.Client
}

func newMetaClient(addr string) (*metaClient, error) {
	network, address, err := config.ParseAddress(addr)
	if err != nil {
		return nil, fmt.Errorf("xds: meta: %w", err)
	}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, address)
		},
		IdleConnTimeout: 30 * time.Second,
	}
	return &metaClient{http: &http.Client{Transport: tr}}, nil
}

func (m *metaClient) owner(ctx context.Context, app, avoid string, wait time.Duration) (pilotTarget, error) {
	q := url.Values{"app": {app}}
	if avoid != "" {
		q.Set("avoid", avoid)
		q.Set("wait", wait.String())
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://meta/v1/owner?"+q.Encode(), nil)
	if err != nil {
		return pilotTarget{}, err
	}
	resp, err := m.http.Do(req)
	if err != nil {
		return pilotTarget{}, fmt.Errorf("meta: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return pilotTarget{}, fmt.Errorf("meta: %w", err)
	}
	var out struct {
		Pilot pilotTarget `json:"pilot"`
		Error string      `json:"error"`
	}
	_ = json.Unmarshal(body, &out)
	if resp.StatusCode != http.StatusOK {
		return pilotTarget{}, fmt.Errorf("meta: %s: %s", resp.Status, out.Error)
	}
	if _, _, err := config.ParseAddress(out.Pilot.XDS); err != nil || out.Pilot.ID == "" {
		return pilotTarget{}, fmt.Errorf("meta: an answer without a usable pilot: %s", body)
	}
	return out.Pilot, nil
}

func (m *metaClient) close() { m.http.CloseIdleConnections() }
