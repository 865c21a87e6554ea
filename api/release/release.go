package release

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Paths served by cp/release, below the control plane's operator API.
const (
	ReleasesPath  = "/v1/releases"  // GET list, POST create; /{name}, /{name}/pause|resume|abort
	ArtifactsPath = "/v1/artifacts" // GET list, POST upload (?version=V&sha256=HEX); GET /{sha256}
	AgentsPath    = "/v1/agents"    // GET /{node}/target, POST /{node}/report
	NodesPath     = "/v1/nodes"     // GET: the last report of every node
)

// Duration is a time.Duration that reads and writes "10s" in JSON.
type Duration time.Duration

func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a duration is a string such as \"10s\": %s", b)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// Artifact is an uploaded sidecar binary, stored by its digest.
type Artifact struct {
	SHA256     string    `json:"sha256"`
	Version    string    `json:"version"`
	Size       int64     `json:"size"`
	UploadedAt time.Time `json:"uploaded_at"`
}

// Scope selects the nodes of a release among those that have reported:
// every filter given narrows the selection (a node must be of one of Apps,
// in one of Zones, and one of Nodes); no filter selects every node.
type Scope struct {
	Apps  []string `json:"apps,omitempty"`
	Zones []string `json:"zones,omitempty"`
	Nodes []string `json:"nodes,omitempty"`
}

// Spec is what an operator asks for: a version onto a scope, in stages.
// The first stage is the canary (Canary nodes, or CanaryShare of them,
// at least one); the other nodes follow in Batches batches of (nearly)
// equal size. Between two stages the health gate must pass, then the
// release waits Pause.
type Spec struct {
	// Name is given by the server when empty (the version and a number).
	Name string `json:"name,omitempty"`
	// Version names an uploaded artifact (its version string); SHA256
	// picks one when several carry the version.
	Version     string   `json:"version"`
	SHA256      string   `json:"sha256,omitempty"`
	Scope       Scope    `json:"scope"`
	Canary      int      `json:"canary,omitempty"`
	CanaryShare float64  `json:"canary_share,omitempty"`
	Batches     int      `json:"batches"`
	Pause       Duration `json:"pause"`
	Gate        Gate     `json:"gate"`
}

// Gate is a stage's health gate: every node of the stage runs the new
// version and reports ready, and for Window after the last of them did,
// stays ready with an error rate (error responses over requests, as its
// sidecar counts them) at most MaxErrorRate once it has MinRequests.
// A node that fails to upgrade (its agent rolled it back or could not
// fetch the version) fails the gate at once; so does a stage that is not
// running the new version within UpgradeTimeout.
type Gate struct {
	MaxErrorRate   float64  `json:"max_error_rate"`
	MinRequests    uint64   `json:"min_requests,omitempty"`
	Window         Duration `json:"window"`
	UpgradeTimeout Duration `json:"upgrade_timeout,omitempty"`
}

// Release states.
const (
	Running     = "running"
	Paused      = "paused"
	Succeeded   = "succeeded"
	RollingBack = "rolling_back" // a gate failed or an operator aborted: upgraded nodes go back
	RolledBack  = "rolled_back"
)

// Stage states.
const (
	StagePending   = "pending"
	StageUpgrading = "upgrading" // its nodes have the target, not all run it yet
	StageWatching  = "watching"  // all run it: the gate's window runs
	StagePassed    = "passed"
	StageFailed    = "failed"
)

// Release is a release and how far it got.
type Release struct {
	Spec
	// SHA256 of Spec is always set here: the artifact chosen.
	State  string  `json:"state"`
	Reason string  `json:"reason,omitempty"`
	Stages []Stage `json:"stages"`
	// Previous is what each node of the release ran when it was created:
	// a rollback's target.
	Previous  map[string]Version `json:"previous"`
	CreatedAt time.Time          `json:"created_at"`
	UpdatedAt time.Time          `json:"updated_at"`
}

// Stage is one step of a release.
type Stage struct {
	Nodes []string `json:"nodes"`
	State string   `json:"state"`
	// StartedAt: its nodes got the target; WatchFrom: the gate's window
	// began; EndedAt: it passed or failed.
	StartedAt *time.Time `json:"started_at,omitempty"`
	WatchFrom *time.Time `json:"watch_from,omitempty"`
	EndedAt   *time.Time `json:"ended_at,omitempty"`
	Reason    string     `json:"reason,omitempty"`
}

// Active reports whether the release may still change its nodes' target.
func (r *Release) Active() bool {
	return r.State == Running || r.State == Paused || r.State == RollingBack
}

// Version is a sidecar build: its version string and binary digest.
type Version struct {
	Version string `json:"version"`
	SHA256  string `json:"sha256"`
}

// Target is what an agent should run. An empty SHA256 means no release
// concerns the node: keep what runs.
type Target struct {
	Version
	// Release that set it; Rollback when it sends the node back.
	Release  string `json:"release,omitempty"`
	Rollback bool   `json:"rollback,omitempty"`
	// URL is where to download it, relative to the control plane
	// (ArtifactsPath/<sha256>).
	URL string `json:"url,omitempty"`
}

// Agent (and node) states in Report.State.
const (
	NodeDownloading = "downloading"
	NodeUpgrading   = "upgrading"
	NodeReady       = "ready"
	NodeNotReady    = "not_ready"   // the sidecar does not answer ready (starting, crashed, restarting)
	NodeRolledBack  = "rolled_back" // the agent rolled the target back (it did not become ready, exited, or erred)
	NodeFailed      = "failed"      // the target could not be fetched or verified
)

// Report is what an agent sends after each step and periodically: its
// node, what its sidecar runs and how it does.
type Report struct {
	Node  string `json:"node"`
	App   string `json:"app,omitempty"`
	Zone  string `json:"zone,omitempty"`
	State string `json:"state"`
	// Version the sidecar runs now.
	Version
	// Target the report is about (the one the agent is working on or
	// gave up on), when any.
	Target *Version `json:"target,omitempty"`
	Reason string   `json:"reason,omitempty"`
	// Health: the sidecar's admin /ready, and its counters since it
	// started (downstream.requests, downstream.error_responses).
	Ready    bool   `json:"ready"`
	Requests uint64 `json:"requests"`
	Errors   uint64 `json:"errors"`
	// Restarts after crashes; the agent's supervisor state.
	Restarts   int    `json:"restarts"`
	AgentState string `json:"agent_state,omitempty"`
	// ConfigVersion is the sidecar's /config_dump version.
	ConfigVersion string `json:"config_version,omitempty"`
	PID           int    `json:"pid,omitempty"`
	// CPUSeconds is the sidecar process's user+system CPU time; RSSBytes
	// its resident memory.
	CPUSeconds float64   `json:"cpu_seconds"`
	RSSBytes   uint64    `json:"rss_bytes"`
	At         time.Time `json:"at"`
}

// NodeReport is a node's last report as the server keeps it.
type NodeReport struct {
	Report
	ReceivedAt time.Time `json:"received_at"`
	// Stale: no report for longer than the server's staleness time.
	Stale bool `json:"stale"`
}

// ErrInvalid is the kind of every error Validate returns.
var ErrInvalid = errors.New("release: invalid")

var nameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?$`)

// ValidName checks a release or node name: what a URL path segment can
// carry without escaping.
func ValidName(field, s string) error {
	if !nameRE.MatchString(strings.ToLower(s)) {
		return fmt.Errorf("%w: %s %q: want 1 to 63 letters, digits, '.', '_' or '-', starting and ending with a letter or digit", ErrInvalid, field, s)
	}
	return nil
}

// ValidSHA256 checks a digest in hex.
func ValidSHA256(field, s string) error {
	if b, err := hex.DecodeString(s); err != nil || len(b) != 32 || strings.ToLower(s) != s {
		return fmt.Errorf("%w: %s %q is not a SHA-256 digest (64 lower-case hex digits)", ErrInvalid, field, s)
	}
	return nil
}

// Validate checks a spec; each error names the field.
func (s *Spec) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, a...)...)
	}
	if s.Name != "" {
		if err := ValidName("name", s.Name); err != nil {
			return err
		}
	}
	if strings.TrimSpace(s.Version) == "" {
		return bad("version: required (the version string of an uploaded artifact)")
	}
	if s.SHA256 != "" {
		if err := ValidSHA256("sha256", s.SHA256); err != nil {
			return err
		}
	}
	for field, list := range map[string][]string{"scope.apps": s.Scope.Apps, "scope.zones": s.Scope.Zones, "scope.nodes": s.Scope.Nodes} {
		for _, v := range list {
			if strings.TrimSpace(v) == "" {
				return bad("%s: an empty name", field)
			}
		}
	}
	switch {
	case s.Canary < 0:
		return bad("canary: %d nodes; want 0 or more", s.Canary)
	case s.CanaryShare < 0 || s.CanaryShare > 1:
		return bad("canary_share: %g; want a share between 0 and 1", s.CanaryShare)
	case s.Canary > 0 && s.CanaryShare > 0:
		return bad("canary and canary_share: give one, not both")
	case s.Batches < 1:
		return bad("batches: %d; want at least 1 after the canary", s.Batches)
	case s.Pause < 0:
		return bad("pause: %v is negative", time.Duration(s.Pause))
	case s.Gate.MaxErrorRate < 0 || s.Gate.MaxErrorRate > 1:
		return bad("gate.max_error_rate: %g; want a rate between 0 and 1", s.Gate.MaxErrorRate)
	case s.Gate.Window <= 0:
		return bad("gate.window: %v; want a positive duration (how long a stage is watched)", time.Duration(s.Gate.Window))
	case s.Gate.UpgradeTimeout < 0:
		return bad("gate.upgrade_timeout: %v is negative", time.Duration(s.Gate.UpgradeTimeout))
	}
	return nil
}
