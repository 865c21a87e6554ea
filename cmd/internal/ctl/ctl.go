package ctl

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	rulesapi "github.com/octomesh/octomesh/api/rules"
)

// DefaultServer is the dispatcher's rule API address.
const DefaultServer = "127.0.0.1:15050"

// Exit statuses: 0 ok, 1 failure, 2 usage error (as cmd/internal/cli).
// diff exits 1 when there are differences, and 3 when it fails.
const (
	exitOK      = 0
	exitFailed  = 1
	exitUsage   = 2
	exitDiffErr = 3
)

type command struct {
	summary string
	run     func(c *ctl, args []string) int
}

var commands = map[string]command{
	"apply":  {"create or update the rules of a file or a directory: apply -f FILE|DIR", (*ctl).apply},
	"get":    {"show rules: get KIND|all [NAME] [-o table|yaml|json] [--history]", (*ctl).get},
	"delete": {"delete rules: delete KIND NAME, or delete -f FILE|DIR", (*ctl).delete},
	"diff":   {"show what apply would change; exits 1 when something would: diff -f FILE|DIR", (*ctl).diff},
}

// Others are the commands of `octomesh ctl` that other packages run (the
// views, releases): name -> one line of help, shown in the usage. The
// caller routes them before Main (cmd/octomesh), since ctl speaks the rule
// API only.
var Others = map[string]string{}

// ctl is one run: its output, its global flags, and the clock.
type ctl struct {
	stdout, stderr io.Writer
	name           string // "octomesh ctl <command>", for messages
	server         string
	tokenFile      string
	now            func() time.Time
}

// Main runs `octomesh ctl` with args (after "ctl") and returns the exit
// status.
func Main(args []string, stdout, stderr io.Writer) int {
	c := &ctl{stdout: stdout, stderr: stderr, name: "octomesh ctl", server: DefaultServer, now: time.Now}
	// Global flags may come before the command (and after it: every
	// command's flag set has them too).
	fs := c.flags("ctl")
	fs.Usage = func() { c.usage(stderr) }
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	args = fs.Args()
	if len(args) == 0 {
		fmt.Fprintln(stderr, "octomesh ctl: no command given")
		c.usage(stderr)
		return exitUsage
	}
	if args[0] == "help" {
		c.usage(stdout)
		return exitOK
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "octomesh ctl: unknown command %q\n", args[0])
		c.usage(stderr)
		return exitUsage
	}
	c.name += " " + args[0]
	return cmd.run(c, args[1:])
}

func (c *ctl) usage(w io.Writer) {
	fmt.Fprintln(w, "usage: octomesh ctl [--server ADDR] [--token-file FILE] <command> [flags]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-13s %s\n", n, commands[n].summary)
	}
	others := make([]string, 0, len(Others))
	for n := range Others {
		others = append(others, n)
	}
	sort.Strings(others)
	for _, n := range others {
		fmt.Fprintf(w, "  %-13s %s\n", n, Others[n])
	}
	fmt.Fprintf(w, "\nkinds: %s\n", strings.Join(rulesapi.Kinds(), ", "))
	fmt.Fprintf(w, "--server is the dispatcher's rule API (default %s); writes need the operator token: --token-file or OCTOMESH_TOKEN.\n", DefaultServer)
}

// flags is a flag set with the global flags.
func (c *ctl) flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	fs.StringVar(&c.server, "server", c.server, "the rule API's address: host:port or unix:///path (the dispatcher's)")
	fs.StringVar(&c.tokenFile, "token-file", c.tokenFile, "file holding the operator token (default: $OCTOMESH_TOKEN)")
	return fs
}

// parse parses args with fs, flags and positional arguments in any order;
// it returns the positional ones, or an exit status.
func (c *ctl) parse(fs *flag.FlagSet, args []string) ([]string, int, bool) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, exitOK, false
			}
			return nil, exitUsage, false
		}
		if fs.NArg() == 0 {
			return pos, 0, true
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

func (c *ctl) usageError(format string, args ...any) int {
	fmt.Fprintf(c.stderr, "%s: %s\n", c.name, fmt.Sprintf(format, args...))
	return exitUsage
}

func (c *ctl) fail(err error) int {
	fmt.Fprintf(c.stderr, "%s: %v\n", c.name, err)
	return exitFailed
}

// client returns the rule API's client with the operator token, if any.
func (c *ctl) client() (*rulesapi.Client, error) {
	token := os.Getenv("OCTOMESH_TOKEN")
	if c.tokenFile != "" {
		b, err := os.ReadFile(c.tokenFile)
		if err != nil {
			return nil, fmt.Errorf("--token-file: %w", err)
		}
		if token = strings.TrimSpace(string(b)); token == "" {
			return nil, fmt.Errorf("--token-file %s is empty", c.tokenFile)
		}
	}
	return rulesapi.NewClient(c.server, strings.TrimSpace(token))
}

func requestContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 30*time.Second)
}

// files lists what -f names: the file, or a directory's *.yaml and *.yml
// files (not below it), sorted.
func files(path string) ([]string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return []string{path}, nil
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if ext := filepath.Ext(e.Name()); !e.IsDir() && (ext == ".yaml" || ext == ".yml") {
			out = append(out, filepath.Join(path, e.Name()))
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no *.yaml or *.yml file in the directory", path)
	}
	sort.Strings(out)
	return out, nil
}

// eachFile sends every file -f names, in order, to send; it stops at the
// first error.
func (c *ctl) eachFile(path string, send func(cl *rulesapi.Client, file string, data []byte) error) error {
	list, err := files(path)
	if err != nil {
		return err
	}
	cl, err := c.client()
	if err != nil {
		return err
	}
	defer cl.Close()
	for _, f := range list {
		data, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		if err := send(cl, f, data); err != nil {
			return err
		}
	}
	return nil
}

func (c *ctl) apply(args []string) int {
	fs := c.flags("apply")
	file := fs.String("f", "", "a file of rules, or a directory of them (*.yaml, *.yml)")
	dry := fs.Bool("dry-run", false, "say what would change, write nothing")
	pos, code, ok := c.parse(fs, args)
	if !ok {
		return code
	}
	if *file == "" || len(pos) > 0 {
		return c.usageError("give the rules with -f FILE|DIR and nothing else (got %q)", pos)
	}
	err := c.eachFile(*file, func(cl *rulesapi.Client, f string, data []byte) error {
		ctx, cancel := requestContext()
		defer cancel()
		resp, err := cl.Apply(ctx, f, data, *dry)
		if err != nil {
			return err
		}
		for _, r := range resp.Results {
			suffix := ""
			if *dry {
				suffix = " (dry run)"
			}
			fmt.Fprintf(c.stdout, "%s %s%s\n", r.Ref(), r.Action, suffix)
		}
		return nil
	})
	if err != nil {
		return c.fail(err)
	}
	return exitOK
}

func (c *ctl) diff(args []string) int {
	fs := c.flags("diff")
	file := fs.String("f", "", "a file of rules, or a directory of them (*.yaml, *.yml)")
	pos, code, ok := c.parse(fs, args)
	if !ok {
		return code
	}
	if *file == "" || len(pos) > 0 {
		return c.usageError("give the rules with -f FILE|DIR and nothing else (got %q)", pos)
	}
	changed := false
	err := c.eachFile(*file, func(cl *rulesapi.Client, f string, data []byte) error {
		ctx, cancel := requestContext()
		defer cancel()
		resp, err := cl.Apply(ctx, f, data, true)
		if err != nil {
			return err
		}
		for _, r := range resp.Results {
			if r.Action != rulesapi.ActionUnchanged {
				changed = true
				io.WriteString(c.stdout, r.Diff)
			}
		}
		return nil
	})
	if err != nil {
		fmt.Fprintf(c.stderr, "%s: %v\n", c.name, err)
		return exitDiffErr
	}
	if changed {
		return exitFailed
	}
	return exitOK
}

func (c *ctl) delete(args []string) int {
	fs := c.flags("delete")
	file := fs.String("f", "", "delete the rules (by kind and name) of a file, or a directory of them")
	pos, code, ok := c.parse(fs, args)
	if !ok {
		return code
	}
	print := func(resp *rulesapi.ApplyResponse) {
		for _, r := range resp.Results {
			fmt.Fprintf(c.stdout, "%s %s\n", r.Ref(), r.Action)
		}
	}
	if *file != "" {
		if len(pos) > 0 {
			return c.usageError("give -f FILE|DIR or KIND NAME, not both")
		}
		err := c.eachFile(*file, func(cl *rulesapi.Client, f string, data []byte) error {
			ctx, cancel := requestContext()
			defer cancel()
			resp, err := cl.DeleteDocuments(ctx, f, data, false)
			if err == nil {
				print(resp)
			}
			return err
		})
		if err != nil {
			return c.fail(err)
		}
		return exitOK
	}
	if len(pos) != 2 {
		return c.usageError("give KIND NAME, or -f FILE|DIR")
	}
	kind, ok := rulesapi.LookupKind(pos[0])
	if !ok {
		return c.usageError("%q is not a kind of rule (known: %s)", pos[0], strings.Join(rulesapi.Kinds(), ", "))
	}
	cl, err := c.client()
	if err != nil {
		return c.fail(err)
	}
	defer cl.Close()
	ctx, cancel := requestContext()
	defer cancel()
	resp, err := cl.Delete(ctx, kind, pos[1], 0)
	if err != nil {
		return c.fail(err)
	}
	print(resp)
	return exitOK
}

func (c *ctl) get(args []string) int {
	fs := c.flags("get")
	output := fs.String("o", "table", "output: table, yaml or json")
	history := fs.Bool("history", false, "with NAME: the document's previous versions too (newest first)")
	pos, code, ok := c.parse(fs, args)
	if !ok {
		return code
	}
	if len(pos) < 1 || len(pos) > 2 {
		return c.usageError("give KIND (or all) and perhaps NAME")
	}
	if *output != "table" && *output != "yaml" && *output != "json" {
		return c.usageError("-o %q: want table, yaml or json", *output)
	}
	kind := ""
	if !strings.EqualFold(pos[0], "all") {
		k, ok := rulesapi.LookupKind(pos[0])
		if !ok {
			return c.usageError("%q is not a kind of rule (known: all, %s)", pos[0], strings.Join(rulesapi.Kinds(), ", "))
		}
		kind = k
	}
	if *history && (len(pos) != 2 || kind == "") {
		return c.usageError("--history needs KIND NAME")
	}
	if len(pos) == 2 && kind == "" {
		return c.usageError("a NAME needs its KIND")
	}
	cl, err := c.client()
	if err != nil {
		return c.fail(err)
	}
	defer cl.Close()
	ctx, cancel := requestContext()
	defer cancel()
	var docs []rulesapi.Document
	switch {
	case *history:
		h, err := cl.History(ctx, kind, pos[1])
		if err != nil {
			return c.fail(err)
		}
		if *output == "json" {
			return c.writeJSON(h)
		}
		if h.Document != nil {
			docs = append(docs, *h.Document)
		}
		docs = append(docs, h.History...)
	case len(pos) == 2:
		d, err := cl.Get(ctx, kind, pos[1])
		if err != nil {
			return c.fail(err)
		}
		if *output == "json" {
			return c.writeJSON(d)
		}
		docs = []rulesapi.Document{*d}
	default:
		docs, err = cl.List(ctx, kind)
		if err != nil {
			return c.fail(err)
		}
		if *output == "json" {
			return c.writeJSON(rulesapi.ListResponse{Documents: docs})
		}
	}
	if *output == "yaml" {
		b, err := rulesapi.EncodeYAML(docs)
		if err != nil {
			return c.fail(err)
		}
		c.stdout.Write(b)
		return exitOK
	}
	if len(docs) == 0 {
		fmt.Fprintln(c.stderr, "no rules")
		return exitOK
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 3, ' ', 0)
	fmt.Fprintln(tw, "KIND\tNAME\tTARGET\tREVISION\tAGE")
	for _, d := range docs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", d.Kind, d.Metadata.Name, target(&d), d.Metadata.Revision, age(c.now(), d.Metadata.Updated))
	}
	tw.Flush()
	return exitOK
}

func (c *ctl) writeJSON(v any) int {
	enc := json.NewEncoder(c.stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return c.fail(err)
	}
	return exitOK
}

// target is a document's target in a table: "web->echo/Get" (the calls of
// app web to echo's method Get), "echo/Get (own)" (a service's own rule),
// "echo" (a service-side kind), with headers and tags after.
func target(d *rulesapi.Document) string {
	t := d.Target
	if d.ServiceSide() {
		return t.Service
	}
	s := t.Service + "/" + t.Method
	if t.App != "" {
		s = t.App + "->" + s
	} else {
		s += " (own)"
	}
	var keys []string
	for k, v := range t.Headers {
		keys = append(keys, "header "+k+"="+v)
	}
	for k, v := range t.Tags {
		keys = append(keys, "tag "+k+"="+v)
	}
	sort.Strings(keys)
	if len(keys) > 0 {
		s += " {" + strings.Join(keys, ", ") + "}"
	}
	return s
}

// age is how long ago updated (RFC 3339) was, as kubectl shows it.
func age(now time.Time, updated string) string {
	t, err := time.Parse(time.RFC3339, updated)
	if err != nil {
		return "-"
	}
	d := now.Sub(t)
	switch {
	case d < 0:
		return "0s"
	case d < 2*time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < 2*time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}
