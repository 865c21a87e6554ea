package sdk

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// SidecarAdmin is the local sidecar's admin endpoint.
type SidecarAdmin struct {
	// Address is host:port (or http://host:port).
	Address string
	// Token is sent as "Authorization: Bearer <token>" when set: a sidecar
	// with admin.token_file requires it.
	Token string
}

// subscribeTimeout bounds one /subscribe call.
const subscribeTimeout = 5 * time.Second

// Subscribe tells the sidecar which services the app calls, so that it
// subscribes to them now (and at its every start) rather than on the first
// call to each, which waits for the control plane. Services the sidecar
// already has are fine to list again.
func (a SidecarAdmin) Subscribe(ctx context.Context, services ...string) error {
	if len(services) == 0 {
		return nil
	}
	body, _ := json.Marshal(services)
	ctx, cancel := context.WithTimeout(ctx, subscribeTimeout)
	defer cancel()
	base := a.Address
	if !strings.HasPrefix(base, "http://") {
		base = "http://" + base
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/subscribe", bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("sdk: subscribe: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if a.Token != "" {
		req.Header.Set("Authorization", "Bearer "+a.Token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("sdk: subscribe: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return fmt.Errorf("sdk: subscribe: the sidecar answered %s: %s", resp.Status, strings.TrimSpace(string(msg)))
	}
	return nil
}
