package ctlrelease

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/octomesh/octomesh/api/release"
)

// DefaultServer is the control plane's operator API.
const DefaultServer = "127.0.0.1:15050"

const usage = `usage: octomesh ctl release COMMAND [flags]

  upload FILE --version V          store a sidecar binary in the release store
  create --version V [--sha256 HEX] [--name N] [--apps a,b] [--zones z] [--nodes n1,n2]
         [--canary N | --canary-share F] [--batches N] [--pause D]
         [--gate-error-rate F] [--gate-min-requests N] [--gate-window D] [--upgrade-timeout D]
                                   start a staged release
  status [NAME]                    releases; with NAME, every node's version and state
  pause|resume|abort NAME          hold, continue, or halt and roll back a release
  artifacts                        the uploaded binaries

common flags: --server ADDR (default 127.0.0.1:15050), --token-file FILE (default $OCTOMESH_TOKEN)
`

// Main runs `octomesh ctl release ARGS` and returns the exit code: 0 done,
// 1 the command failed, 2 bad usage.
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, usage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, args := args[0], args[1:]
	var err error
	switch cmd {
	case "upload":
		err = upload(args, stdout, stderr)
	case "create":
		err = create(args, stdout, stderr)
	case "status":
		err = status(args, stdout, stderr)
	case "pause", "resume", "abort":
		err = action(cmd, args, stdout, stderr)
	case "artifacts":
		err = artifacts(args, stdout, stderr)
	default:
		err = usageError{fmt.Errorf("unknown command %q", cmd)}
	}
	return exit(err, stderr)
}

// NodesMain runs `octomesh ctl nodes`: the last report of every node.
func NodesMain(args []string, stdout, stderr io.Writer) int {
	fs, common := newFlags("nodes", stderr)
	if _, err := parse(fs, args, 0, 0); err != nil {
		return exit(err, stderr)
	}
	c, err := common.client()
	if err != nil {
		return exit(err, stderr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	nodes, err := c.Nodes(ctx)
	if err != nil {
		return exit(err, stderr)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tAPP\tZONE\tVERSION\tSHA256\tSTATE\tREADY\tRESTARTS\tCONFIG\tCPU\tRSS\tREPORTED")
	now := time.Now()
	for _, n := range nodes {
		age := now.Sub(n.ReceivedAt).Round(time.Second).String() + " ago"
		if n.Stale {
			age += " (stale)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%v\t%d\t%s\t%.1fs\t%s\t%s\n", n.Node, dash(n.App), dash(n.Zone), dash(n.Version.Version),
			dash(short(n.SHA256)), n.State, n.Ready, n.Restarts, dash(n.ConfigVersion), n.CPUSeconds, mib(n.RSSBytes), age)
	}
	return exit(tw.Flush(), stderr)
}

type usageError struct{ error }

func exit(err error, stderr io.Writer) int {
	var u usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &u):
		fmt.Fprintf(stderr, "octomesh ctl: %v\n", err)
		return 2
	default:
		fmt.Fprintf(stderr, "octomesh ctl: %v\n", err)
		return 1
	}
}

// commonFlags are every command's.
type commonFlags struct {
	server, tokenFile *string
}

func newFlags(name string, stderr io.Writer) (*flag.FlagSet, commonFlags) {
	fs := flag.NewFlagSet("ctl "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := commonFlags{
		server:    fs.String("server", DefaultServer, "the control plane's operator API (host:port or URL)"),
		tokenFile: fs.String("token-file", "", "a file holding the operator token (default: $OCTOMESH_TOKEN)"),
	}
	return fs, c
}

func (c commonFlags) client() (*release.Client, error) {
	token := os.Getenv("OCTOMESH_TOKEN")
	if *c.tokenFile != "" {
		b, err := os.ReadFile(*c.tokenFile)
		if err != nil {
			return nil, fmt.Errorf("--token-file: %w", err)
		}
		token = strings.TrimSpace(string(b))
		if token == "" {
			return nil, fmt.Errorf("--token-file %s is empty", *c.tokenFile)
		}
	}
	return release.NewClient(*c.server, token), nil
}

// parse parses flags and positional arguments in any order; it wants
// between lo and hi positional ones.
func parse(fs *flag.FlagSet, args []string, lo, hi int) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageError{err}
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	switch {
	case len(pos) < lo:
		return nil, usageError{fmt.Errorf("%s: want %d argument(s), got %d", fs.Name(), lo, len(pos))}
	case len(pos) > hi:
		return nil, usageError{fmt.Errorf("%s: unexpected argument %q", fs.Name(), pos[hi])}
	}
	return pos, nil
}

func upload(args []string, stdout, stderr io.Writer) error {
	fs, common := newFlags("release upload", stderr)
	version := fs.String("version", "", "the version string the binary is released as (required)")
	pos, err := parse(fs, args, 1, 1)
	if err != nil {
		return err
	}
	if *version == "" {
		return usageError{errors.New("release upload: --version is required")}
	}
	c, err := common.client()
	if err != nil {
		return err
	}
	file := pos[0]
	f, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("release upload: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("release upload: reading %s: %w", file, err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	art, err := c.Upload(ctx, f, *version, sum)
	if err != nil {
		return fmt.Errorf("release upload %s: %w", file, err)
	}
	_, err = fmt.Fprintf(stdout, "uploaded %s as version %s: sha256 %s, %d bytes\n", file, art.Version, art.SHA256, art.Size)
	return err
}

func create(args []string, stdout, stderr io.Writer) error {
	fs, common := newFlags("release create", stderr)
	var s release.Spec
	fs.StringVar(&s.Name, "name", "", "the release's name (default: the version and a number)")
	fs.StringVar(&s.Version, "version", "", "the uploaded version to release (required)")
	fs.StringVar(&s.SHA256, "sha256", "", "the artifact's digest, when several carry the version")
	apps := fs.String("apps", "", "scope: nodes of these apps (comma-separated)")
	zones := fs.String("zones", "", "scope: nodes in these zones (comma-separated)")
	nodes := fs.String("nodes", "", "scope: these nodes (comma-separated)")
	fs.IntVar(&s.Canary, "canary", 0, "nodes in the canary stage (default 1)")
	fs.Float64Var(&s.CanaryShare, "canary-share", 0, "the canary stage's share of the nodes, 0 to 1 (instead of --canary)")
	fs.IntVar(&s.Batches, "batches", 1, "batches after the canary")
	pause := fs.Duration("pause", 30*time.Second, "the wait between a stage passing its gate and the next one starting")
	fs.Float64Var(&s.Gate.MaxErrorRate, "gate-error-rate", 0.01, "a stage's highest error rate (error responses / requests) in the gate's window")
	fs.Uint64Var(&s.Gate.MinRequests, "gate-min-requests", 0, "requests a node must have seen in the window before its error rate counts")
	window := fs.Duration("gate-window", 60*time.Second, "how long a stage is watched after all its nodes run the new version")
	upTimeout := fs.Duration("upgrade-timeout", 0, "how long a stage's nodes may take to run the new version (default 5m)")
	if _, err := parse(fs, args, 0, 0); err != nil {
		return err
	}
	s.Scope = release.Scope{Apps: list(*apps), Zones: list(*zones), Nodes: list(*nodes)}
	s.Pause, s.Gate.Window, s.Gate.UpgradeTimeout = release.Duration(*pause), release.Duration(*window), release.Duration(*upTimeout)
	if err := s.Validate(); err != nil {
		return usageError{fmt.Errorf("release create: %v", flagNames(err))}
	}
	c, err := common.client()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := c.Create(ctx, s)
	if err != nil {
		return fmt.Errorf("release create: %w", err)
	}
	fmt.Fprintf(stdout, "release %s: %s (%s) onto %d nodes in %d stages\n", r.Name, r.Version, short(r.SHA256), len(r.Previous), len(r.Stages))
	return printRelease(stdout, r, nil)
}

// flagNames says a spec's field as its flag.
func flagNames(err error) string {
	msg := strings.TrimPrefix(err.Error(), release.ErrInvalid.Error()+": ")
	for field, flag := range map[string]string{"gate.max_error_rate": "--gate-error-rate", "gate.window": "--gate-window",
		"gate.upgrade_timeout": "--upgrade-timeout", "canary_share": "--canary-share", "scope.apps": "--apps",
		"scope.zones": "--zones", "scope.nodes": "--nodes"} {
		if strings.HasPrefix(msg, field+":") || strings.HasPrefix(msg, field+" ") {
			return flag + strings.TrimPrefix(msg, field)
		}
	}
	return "--" + msg
}

func list(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

func status(args []string, stdout, stderr io.Writer) error {
	fs, common := newFlags("release status", stderr)
	pos, err := parse(fs, args, 0, 1)
	if err != nil {
		return err
	}
	c, err := common.client()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if len(pos) == 0 {
		rels, err := c.Releases(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tVERSION\tSHA256\tSTATE\tSTAGE\tNODES\tCREATED\tREASON")
		for _, r := range rels {
			done := 0
			for _, s := range r.Stages {
				if s.State == release.StagePassed {
					done++
				}
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d/%d passed\t%d\t%s\t%s\n", r.Name, r.Version, short(r.SHA256), r.State, done, len(r.Stages),
				len(r.Previous), r.CreatedAt.Local().Format(time.DateTime), r.Reason)
		}
		return tw.Flush()
	}
	r, err := c.Release(ctx, pos[0])
	if err != nil {
		return err
	}
	nodes, err := c.Nodes(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "release %s: %s (%s), %s", r.Name, r.Version, short(r.SHA256), r.State)
	if r.Reason != "" {
		fmt.Fprintf(stdout, ": %s", r.Reason)
	}
	fmt.Fprintln(stdout)
	return printRelease(stdout, r, nodes)
}

// printRelease prints r's stages and every node's version and state.
func printRelease(w io.Writer, r release.Release, nodes []release.NodeReport) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STAGE\tSTAGE STATE\tNODE\tPREVIOUS\tRUNNING\tNODE STATE\tREADY\tREPORTED")
	now := time.Now()
	for i, s := range r.Stages {
		for _, n := range s.Nodes {
			running, state, ready, age := "-", "-", "-", "-"
			if j := slices.IndexFunc(nodes, func(x release.NodeReport) bool { return x.Node == n }); j >= 0 {
				rep := nodes[j]
				running = fmt.Sprintf("%s (%s)", dash(rep.Version.Version), short(rep.SHA256))
				state, ready = rep.State, fmt.Sprint(rep.Ready)
				age = now.Sub(rep.ReceivedAt).Round(time.Second).String() + " ago"
				if rep.Stale {
					age += " (stale)"
				}
				if rep.Reason != "" {
					state += ": " + rep.Reason
				}
			}
			prev := r.Previous[n]
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s (%s)\t%s\t%s\t%s\t%s\n", i, s.State, n, dash(prev.Version), short(prev.SHA256), running, state, ready, age)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for i, s := range r.Stages {
		if s.Reason != "" {
			fmt.Fprintf(w, "stage %d %s: %s\n", i, s.State, s.Reason)
		}
	}
	return nil
}

func action(verb string, args []string, stdout, stderr io.Writer) error {
	fs, common := newFlags("release "+verb, stderr)
	pos, err := parse(fs, args, 1, 1)
	if err != nil {
		return err
	}
	c, err := common.client()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	do := map[string]func(context.Context, string) (release.Release, error){"pause": c.Pause, "resume": c.Resume, "abort": c.Abort}[verb]
	r, err := do(ctx, pos[0])
	if err != nil {
		return fmt.Errorf("release %s %s: %w", verb, pos[0], err)
	}
	_, err = fmt.Fprintf(stdout, "release %s: %s\n", r.Name, r.State)
	return err
}

func artifacts(args []string, stdout, stderr io.Writer) error {
	fs, common := newFlags("release artifacts", stderr)
	if _, err := parse(fs, args, 0, 0); err != nil {
		return err
	}
	c, err := common.client()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	arts, err := c.Artifacts(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tSHA256\tSIZE\tUPLOADED")
	for _, a := range arts {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", a.Version, a.SHA256, mib(uint64(a.Size)), a.UploadedAt.Local().Format(time.DateTime))
	}
	return tw.Flush()
}

func short(sum string) string {
	if len(sum) > 12 {
		return sum[:12]
	}
	return sum
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func mib(b uint64) string { return fmt.Sprintf("%.1fMiB", float64(b)/(1<<20)) }
