package inspect

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/octomesh/octomesh/api/meta"
	"github.com/octomesh/octomesh/api/scanner"
)

// ControlPlaneView is the control plane: Meta's assignment, the pilots
// with their sessions and push latency, the scanners with what they check.
type ControlPlaneView struct {
	// Meta is set when the Inspector asks Meta.
	Meta     *MetaView     `json:"meta,omitempty"`
	Pilots   []PilotView   `json:"pilots"`
	Scanners []ScannerView `json:"scanners"`
	// ScannersKnown: the Inspector has a source of scanners (Options.
	// Scanners); false means the scanners are not shown, not that there
	// are none.
	ScannersKnown bool          `json:"scanners_known"`
	Unreachable   []Unreachable `json:"unreachable,omitempty"`
}

// MetaView is Meta's GET /v1/assignment.
type MetaView struct {
	Address    string               `json:"address"`
	Assignment *meta.AssignmentInfo `json:"assignment,omitempty"`
	Error      string               `json:"error,omitempty"`
}

// PilotView is one pilot.
type PilotView struct {
	Pilot
	// Sessions by app: how many sidecars of each are connected.
	Sessions int            `json:"sessions"`
	Apps     map[string]int `json:"apps"`
	// PushDelay is the pilot's share of the push latency (its /stats'
	// pilot.push_delay.*): from a change reaching its cache to the
	// response handed to a session's stream.
	PushDelay PushDelay `json:"push_delay"`
	// Pushes and Nacks are its counters (pilot.pushes, pilot.nacks).
	Pushes uint64 `json:"pushes"`
	Nacks  uint64 `json:"nacks"`
	// Shard is its GET /debug/shard (absent when it serves every app).
	Shard json.RawMessage `json:"shard,omitempty"`
	Error string          `json:"error,omitempty"`
}

// PushDelay is a pilot's push-delay histogram, summarised.
type PushDelay struct {
	Count uint64 `json:"count"`
	P50Us uint64 `json:"p50_us"`
	P99Us uint64 `json:"p99_us"`
	MaxUs uint64 `json:"max_us"`
}

// ScannerView is one scanner: its record, counters and the addresses it
// checks.
type ScannerView struct {
	scanner.Info
	// Stats is its /stats page.
	Stats   map[string]uint64 `json:"stats,omitempty"`
	Targets []ScannerTarget   `json:"targets"`
	Error   string            `json:"error,omitempty"`
}

// ScannerTarget is one address a scanner checks (its GET
// /debug/instances, cp/scanner.TargetInfo).
type ScannerTarget struct {
	Address  string   `json:"address"`
	Zone     string   `json:"zone,omitempty"`
	Services []string `json:"services"`
	Down     bool     `json:"down"`
	Fails    int      `json:"fails"`
	Oks      int      `json:"oks"`
	LastErr  string   `json:"last_error,omitempty"`
}

// Scanners asks every scanner Options.Scanners lists for its counters and
// targets. Without that option there are none; a scanner that does not
// answer has Error set and is in the Unreachable list.
func (in *Inspector) Scanners(ctx context.Context) ([]ScannerView, []Unreachable) {
	if in.opts.Scanners == nil {
		return []ScannerView{}, nil
	}
	ctx2, cancel := context.WithTimeout(ctx, in.opts.Timeout)
	infos, err := in.opts.Scanners(ctx2)
	cancel()
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("no answer within %v", in.opts.Timeout)
		}
		return []ScannerView{}, []Unreachable{{Source: "scanners' records", Error: err.Error()}}
	}
	out := make([]ScannerView, len(infos))
	var wg sync.WaitGroup
	for i, info := range infos {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v := ScannerView{Info: info, Targets: []ScannerTarget{}}
			body, err := in.getRaw(ctx, info.HTTP, "/stats")
			if err == nil {
				v.Stats = parseStats(body)
				err = in.get(ctx, info.HTTP, "/debug/instances", &v.Targets)
			}
			if err != nil {
				v.Error = err.Error()
			}
			out[i] = v
		}()
	}
	wg.Wait()
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	var bad []Unreachable
	for _, v := range out {
		if v.Error != "" {
			bad = append(bad, Unreachable{Source: fmt.Sprintf("scanner %s (%s)", v.ID, v.HTTP), Error: v.Error})
		}
	}
	return out, bad
}

// ControlPlane gathers Meta's assignment, the pilots and the scanners.
func (in *Inspector) ControlPlane(ctx context.Context) (ControlPlaneView, error) {
	v := ControlPlaneView{Pilots: []PilotView{}, ScannersKnown: in.opts.Scanners != nil}
	if in.opts.Meta != "" {
		mv := &MetaView{Address: in.opts.Meta}
		var a meta.AssignmentInfo
		if err := in.get(ctx, in.opts.Meta, "/v1/assignment", &a); err != nil {
			mv.Error = err.Error()
			v.Unreachable = append(v.Unreachable, Unreachable{Source: "meta " + in.opts.Meta, Error: err.Error()})
		} else {
			mv.Assignment = &a
		}
		v.Meta = mv
		if mv.Error != "" {
			v.Scanners, _ = in.Scanners(ctx)
			return v, nil // no pilot to ask: the view says why
		}
	}
	pilots, bad, err := in.Pilots(ctx)
	if err != nil {
		return v, err
	}
	v.Unreachable = append(v.Unreachable, bad...)
	v.Pilots = make([]PilotView, len(pilots))
	eachPilot(pilots, func(i int, p Pilot) {
		pv := PilotView{Pilot: p, Apps: map[string]int{}}
		var list []sessionStatus
		err := in.get(ctx, p.HTTP, "/debug/status", &list)
		if err == nil {
			pv.Sessions = len(list)
			for _, s := range list {
				pv.Apps[s.App]++
			}
			var body []byte
			body, err = in.getRaw(ctx, p.HTTP, "/stats")
			if err == nil {
				st := parseStats(body)
				pv.PushDelay = PushDelay{Count: st["pilot.push_delay.count"], P50Us: st["pilot.push_delay.p50_us"],
					P99Us: st["pilot.push_delay.p99_us"], MaxUs: st["pilot.push_delay.max_us"]}
				pv.Pushes, pv.Nacks = st["pilot.pushes"], st["pilot.nacks"]
			}
		}
		if err == nil {
			// A pilot that is not a shard answers 404: not an error.
			if body, serr := in.getRaw(ctx, p.HTTP, "/debug/shard"); serr == nil && json.Valid(body) {
				pv.Shard = json.RawMessage(bytes.TrimSpace(body))
			}
		}
		if err != nil {
			pv.Error = err.Error()
		}
		v.Pilots[i] = pv
	})
	for _, p := range v.Pilots {
		if p.Error != "" {
			v.Unreachable = append(v.Unreachable, Unreachable{Source: "pilot " + p.Name(), Error: p.Error})
		}
	}
	var sbad []Unreachable
	v.Scanners, sbad = in.Scanners(ctx)
	v.Unreachable = append(v.Unreachable, sbad...)
	return v, nil
}

// parseStats reads a /stats page's "name value" lines (other lines are
// skipped).
func parseStats(body []byte) map[string]uint64 {
	out := map[string]uint64{}
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 2 {
			continue
		}
		if v, err := strconv.ParseUint(f[1], 10, 64); err == nil {
			out[f[0]] = v
		}
	}
	return out
}
