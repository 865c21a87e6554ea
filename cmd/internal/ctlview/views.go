package ctlview

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/octomesh/octomesh/api/registry"
	"github.com/octomesh/octomesh/cp/inspect"
)

// proxyStatus: proxy-status [NODE].
func proxyStatus(c *common, args []string, stdout, stderr io.Writer) error {
	if len(args) > 1 {
		return usage(fmt.Errorf("at most one argument, a node id (got %q)", args))
	}
	in, err := c.inspector()
	if err != nil {
		return err
	}
	defer in.Close()
	ctx, cancel := c.ctx()
	defer cancel()
	st, err := in.ProxyStatus(ctx)
	if err != nil {
		return err
	}
	if len(args) == 1 {
		st.Sidecars = st.FindSidecar(args[0])
	}
	warn(stderr, "proxy-status", st.Unreachable)
	if len(st.Unreachable) > 0 && len(st.Unreachable) >= len(st.Pilots) {
		return fmt.Errorf("no pilot answered (%d asked)", len(st.Unreachable))
	}
	if c.output != "table" {
		return encode(stdout, c.output, st)
	}
	if len(args) == 1 && len(st.Sidecars) == 0 {
		return fmt.Errorf("node %q has no session on the %d pilot(s) asked", args[0], len(st.Pilots))
	}
	return writeProxyStatus(stdout, st)
}

func writeProxyStatus(w io.Writer, st inspect.ProxyStatus) error {
	lds := false
	for _, s := range st.Sidecars {
		if s.LDS.State != inspect.StateNotSent {
			lds = true
		}
	}
	tw := tabwriter.NewWriter(w, 0, 4, 3, ' ', 0)
	head := "NODE\tAPP\tPILOT\tCDS\tEDS\tRDS"
	if lds {
		head += "\tLDS"
	}
	fmt.Fprintln(tw, head)
	for _, s := range st.Sidecars {
		line := fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s", s.Node, s.App, s.Pilot, s.CDS.Summary, s.EDS.Summary, s.RDS.Summary)
		if lds {
			line += "\t" + s.LDS.Summary
		}
		fmt.Fprintln(tw, line)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(st.Sidecars) == 0 {
		fmt.Fprintf(w, "no sidecar is connected to the %d pilot(s) that answered\n", len(st.Pilots)-len(st.Unreachable))
	}
	return nil
}

var configKinds = []string{"clusters", "endpoints", "routes"}

// proxyConfig: proxy-config NODE [clusters|endpoints|routes|all].
func proxyConfig(c *common, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || len(args) > 2 {
		return usage(errors.New("give a node id, and optionally clusters, endpoints, routes or all"))
	}
	kinds := configKinds
	if len(args) == 2 {
		switch args[1] {
		case "all":
		case "clusters", "endpoints", "routes", "cluster", "endpoint", "route":
			kinds = []string{strings.TrimSuffix(args[1], "s") + "s"}
		default:
			return usage(fmt.Errorf("%q: show clusters, endpoints, routes or all", args[1]))
		}
	}
	in, err := c.inspector()
	if err != nil {
		return err
	}
	defer in.Close()
	ctx, cancel := c.ctx()
	defer cancel()
	pc, err := in.ProxyConfig(ctx, args[0], c.admin)
	if err != nil {
		return err
	}
	warn(stderr, "proxy-config", pc.Unreachable)
	keep := map[string]bool{}
	for _, k := range kinds {
		keep[k] = true
	}
	if !keep["clusters"] {
		pc.PilotView.Clusters = nil
	}
	if !keep["endpoints"] {
		pc.PilotView.Endpoints = nil
	}
	if !keep["routes"] {
		pc.PilotView.Routes = nil
	}
	diffs := pc.Differences[:0:0]
	for _, d := range pc.Differences {
		if keep[d.Kind+"s"] {
			diffs = append(diffs, d)
		}
	}
	pc.Differences = diffs
	if c.output != "table" {
		return encode(stdout, c.output, pc)
	}
	return writeProxyConfig(stdout, pc, kinds)
}

func writeProxyConfig(w io.Writer, pc inspect.ProxyConfig, kinds []string) error {
	fmt.Fprintf(w, "Node %s (app %s) on pilot %s\n", pc.Node, pc.App, pc.Pilot)
	switch {
	case pc.SidecarView != nil:
		state := "connected to " + pc.SidecarView.Pilot
		if !pc.SidecarView.Connected {
			state = "NOT connected (last error: " + pc.SidecarView.LastError + ")"
		}
		fmt.Fprintf(w, "Sidecar admin %s: %s\n", pc.Admin, state)
	case pc.Admin != "":
		fmt.Fprintf(w, "Sidecar admin %s: did not answer; the pilot's view only\n", pc.Admin)
	default:
		fmt.Fprintf(w, "Sidecar: no admin address (give --admin); the pilot's view only\n")
	}
	sidecar := func(kind, name string) string {
		if pc.SidecarView == nil {
			return "?"
		}
		v, ok := pc.SidecarView.Versions[kind][name]
		if !ok {
			return "none"
		}
		return inspect.ShortVersion(v)
	}
	for _, k := range kinds {
		var list []inspect.ResourceView
		var kind, col string
		switch k {
		case "clusters":
			list, kind, col = pc.PilotView.Clusters, "cluster", "SUMMARY"
		case "endpoints":
			list, kind, col = pc.PilotView.Endpoints, "endpoint", "ENDPOINTS (pilot)"
		case "routes":
			list, kind, col = pc.PilotView.Routes, "route", "ROUTES (pilot)"
		}
		fmt.Fprintf(w, "\n%s\n", strings.ToUpper(k))
		if len(list) == 0 {
			fmt.Fprintln(w, "(none subscribed)")
			continue
		}
		tw := tabwriter.NewWriter(w, 0, 4, 3, ' ', 0)
		fmt.Fprintf(tw, "NAME\tPILOT\tSIDECAR\t%s\n", col)
		for _, r := range list {
			summary := r.Summary
			switch {
			case r.Version == inspect.Absent:
				summary = []string{"(does not exist)"}
			case r.Version == "":
				summary = []string{"(not loaded yet)"}
			case len(summary) == 0:
				summary = []string{""}
			}
			for i, line := range summary {
				if i == 0 {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Name, inspect.ShortVersion(r.Version), sidecar(kind, r.Name), line)
				} else {
					fmt.Fprintf(tw, "\t\t\t%s\n", line)
				}
			}
			if kind == "endpoint" && pc.SidecarView != nil {
				if eps, ok := pc.SidecarView.AppliedClusters[r.Name]; ok {
					fmt.Fprintf(tw, "\t\t\tsidecar applied: %s\n", strings.Join(eps, ", "))
				}
			}
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	fmt.Fprintln(w, "\nDIFFERENCES")
	switch {
	case pc.SidecarView == nil:
		fmt.Fprintln(w, "(unknown: the sidecar was not read)")
	case len(pc.Differences) == 0:
		fmt.Fprintln(w, "none: the sidecar holds what the pilot would send")
	default:
		tw := tabwriter.NewWriter(w, 0, 4, 3, ' ', 0)
		fmt.Fprintln(tw, "KIND\tNAME\tPILOT\tSIDECAR\tREASON")
		for _, d := range pc.Differences {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", d.Kind, d.Name, inspect.ShortVersion(d.Pilot), inspect.ShortVersion(d.Sidecar), d.Reason)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}

// describe: describe service S.
func describe(c *common, args []string, stdout, stderr io.Writer) error {
	if len(args) != 2 || (args[0] != "service" && args[0] != "svc") {
		return usage(errors.New("describe service SERVICE"))
	}
	in, err := c.inspector()
	if err != nil {
		return err
	}
	defer in.Close()
	ctx, cancel := c.ctx()
	defer cancel()
	d, err := in.DescribeService(ctx, args[1])
	if err != nil {
		return err
	}
	warn(stderr, "describe", d.Unreachable)
	if c.output != "table" {
		return encode(stdout, c.output, d)
	}
	return writeDescription(stdout, d)
}

func writeDescription(w io.Writer, d inspect.ServiceDescription) error {
	fmt.Fprintf(w, "Service:   %s\n", d.Service)
	fmt.Fprintf(w, "Registry:  %s\n", d.Source)
	fmt.Fprintf(w, "\nInstances: %d\n", len(d.Instances))
	if len(d.Instances) > 0 {
		tw := tabwriter.NewWriter(w, 0, 4, 3, ' ', 0)
		fmt.Fprintln(tw, "ADDRESS\tAPP\tZONE\tSET\tWEIGHT\tHEALTH")
		for _, i := range d.Instances {
			health := i.Health
			if m := i.Mark; m != nil {
				health = fmt.Sprintf("down since %s (%s ago), marked by %s, confirmed by %s: %s", m.Since.UTC().Format(time.RFC3339),
					time.Since(m.Since).Round(time.Second), m.Scanner, orDash(m.Confirmer), orDash(m.Reason))
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", i.Address, i.App, orDash(i.Zone), orDash(i.Set), i.Weight, health)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	} else {
		fmt.Fprintln(w, "(none registered: callers get no_instances)")
	}
	fmt.Fprintln(w, "\nPolicy:")
	if isZeroPolicy(d.Policy) {
		fmt.Fprintln(w, "  (none: the sidecars' defaults apply)")
	} else {
		b, err := yaml.Marshal(d.Policy)
		if err != nil {
			return err
		}
		for _, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
			fmt.Fprintln(w, "  "+line)
		}
	}
	fmt.Fprintf(w, "\nRoute rules that send calls to %s:\n", d.Service)
	if len(d.Rules) == 0 {
		fmt.Fprintf(w, "  (none: calls to %s go to its instances)\n", d.Service)
	} else {
		tw := tabwriter.NewWriter(w, 0, 4, 3, ' ', 0)
		fmt.Fprintln(tw, "APP\tRULE\tWHY\tMATCH -> TARGET")
		for _, r := range d.Rules {
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", r.App, r.Index, r.Why, ruleText(r.Rule))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	subs := "(none)"
	if len(d.Subscribers) > 0 {
		subs = strings.Join(d.Subscribers, ", ")
	}
	fmt.Fprintf(w, "\nSubscribers (EDS): %s\n", subs)
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func isZeroPolicy(p registry.ServicePolicy) bool {
	return p.CircuitBreaker == nil && p.RetryBudget == nil && p.OutlierDetection == nil && len(p.Routes) == 0
}

// ruleText is a rule in one line: "echo/Slow [h=v] -> echo-v2 timeout 2s".
func ruleText(r registry.RouteRule) string {
	var b strings.Builder
	b.WriteString(r.Service + "/" + orDefault(r.Method, "*"))
	var match []string
	for _, k := range sortedKeys(r.Headers) {
		match = append(match, k+"="+r.Headers[k])
	}
	for _, k := range sortedKeys(r.Tags) {
		match = append(match, "tag "+k+"="+r.Tags[k])
	}
	if len(match) > 0 {
		b.WriteString(" [" + strings.Join(match, ",") + "]")
	}
	b.WriteString(" -> ")
	switch {
	case len(r.Split) > 0:
		var parts []string
		for _, s := range r.Split {
			parts = append(parts, fmt.Sprintf("%s %d", s.Cluster, s.Weight))
		}
		b.WriteString("split(" + strings.Join(parts, ", ") + ")")
	default:
		b.WriteString(orDefault(r.Cluster, r.Service))
	}
	if r.Timeout != 0 {
		b.WriteString(" timeout " + time.Duration(r.Timeout).String())
	}
	if r.Retry != nil {
		fmt.Fprintf(&b, " retry %d", r.Retry.Attempts)
	}
	if r.RateLimit != nil {
		b.WriteString(" rate_limit")
	}
	if r.Fault != nil {
		b.WriteString(" fault")
	}
	if r.Mirror != nil {
		b.WriteString(" mirror " + r.Mirror.Cluster)
	}
	return b.String()
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
