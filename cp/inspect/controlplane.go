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
	pilotapi "github.com/octomesh/octomesh/api/pilot"
	"github.com/octomesh/octomesh/api/scanner"
)

// ControlPlaneView is the control plane: Meta's assignment, the pilots
// with their sessions and push latency, the scanners with what they check.
type ControlPlaneView struct {
	// Meta is set when the Inspector asks Meta.
	Meta     *MetaView     `json:"meta,omitempty"`
	Pilots   []PilotView   `json:"pilots"`
	Scanners []ScannerView `json:"scanners"`
	// ScannersKnown: a source of the scanners' records answered (a
	// pilot's GET /debug/scanners, or Options.Scanners); false means the
	// scanners are not shown, not that there are none.
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

// Scanners asks every live scanner for its counters and targets. The
// scanners are those Options.Scanners lists, or else those the pilots
// follow (GET /debug/scanners, from the first pilot that answers). known
// is false when no source of scanners answered. A scanner that does not
// answer has Error set and is in the Unreachable list.
func (in *Inspector) Scanners(ctx context.Context) (views []ScannerView, known bool, bad []Unreachable) {
	infos, known, bad := in.scannerInfos(ctx)
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
				if v.Targets == nil {
					v.Targets = []ScannerTarget{}
				}
			}
			if err != nil {
				v.Error = err.Error()
			}
			out[i] = v
		}()
	}
	wg.Wait()
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	for _, v := range out {
		if v.Error != "" {
			bad = append(bad, Unreachable{Source: fmt.Sprintf("scanner %s (%s)", v.ID, v.HTTP), Error: v.Error})
		}
	}
	return out, known, bad
}

// scannerInfos lists the live scanners' records.
func (in *Inspector) scannerInfos(ctx context.Context) ([]scanner.Info, bool, []Unreachable) {
	if in.opts.Scanners != nil {
		ctx2, cancel := context.WithTimeout(ctx, in.opts.Timeout)
		infos, err := in.opts.Scanners(ctx2)
		cancel()
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) {
				err = fmt.Errorf("no answer within %v", in.opts.Timeout)
			}
			return nil, false, []Unreachable{{Source: "scanners' records", Error: err.Error()}}
		}
		return infos, true, nil
	}
	pilots, _, err := in.Pilots(ctx)
	if err != nil {
		return nil, false, []Unreachable{{Source: "scanners' records", Error: err.Error()}}
	}
	var errs []string
	for _, p := range pilots {
		var infos []scanner.Info
		if err := in.get(ctx, p.HTTP, "/debug/scanners", &infos); err != nil {
			errs = append(errs, "pilot "+p.Name()+": "+err.Error())
			continue
		}
		return infos, true, nil
	}
	return nil, false, []Unreachable{{Source: "scanners' records (the pilots' GET /debug/scanners)", Error: strings.Join(errs, "; ")}}
}

// ControlPlane gathers Meta's assignment, the pilots and the scanners.
func (in *Inspector) ControlPlane(ctx context.Context) (ControlPlaneView, error) {
	v := ControlPlaneView{Pilots: []PilotView{}, Scanners: []ScannerView{}}
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
		err := in.get(ctx, p.HTTP, pilotapi.StatusPath, &list)
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
	v.Scanners, v.ScannersKnown, sbad = in.Scanners(ctx)
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
