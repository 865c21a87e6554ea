package ctlview

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/octomesh/octomesh/cmd/internal/cli"
	"github.com/octomesh/octomesh/cp/inspect"
)

// Commands are the views Main runs, with a line of help each.
var Commands = map[string]string{
	"proxy-status": "every sidecar's sync state with its pilot (CDS, EDS, RDS)",
	"proxy-config": "one node's clusters, endpoints and routes: the pilot's and the sidecar's, and where they differ",
	"describe":     "describe service S: instances, health, policy, the route rules that send to it",
}

// Main runs view cmd (proxy-status, proxy-config or describe) with args
// (its flags and arguments, in any order) and returns the exit status: 0,
// 1 when the view failed (Meta not answering, an unknown node, no registry
// answering), 2 for a usage error. Pilots or sidecars that do not answer
// are warned about on stderr; the view shows the rest and exits 0.
func Main(cmd string, args []string, stdout, stderr io.Writer) int {
	name := "octomesh ctl " + cmd
	var run func(*common, []string, io.Writer, io.Writer) error
	switch cmd {
	case "proxy-status":
		run = proxyStatus
	case "proxy-config":
		run = proxyConfig
	case "describe":
		run = describe
	default:
		fmt.Fprintf(stderr, "octomesh ctl: unknown view %q (proxy-status, proxy-config, describe)\n", cmd)
		return 2
	}
	c := &common{}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Var(&c.pilots, "pilot", "a pilot's HTTP address (repeatable; default "+inspect.DefaultPilot+")")
	fs.StringVar(&c.meta, "meta", "", "Meta's HTTP address: ask every pilot of its assignment")
	fs.StringVar(&c.output, "o", "table", "output: table, json or yaml")
	fs.DurationVar(&c.timeout, "timeout", inspect.DefaultTimeout, "how long each pilot or sidecar may take to answer")
	fs.StringVar(&c.tlsCert, "tls-cert", "", "for pilots and Meta whose HTTP is mutual TLS (--http-tls-cert): the operator's certificate (PEM; `octomesh ca issue --app <operator>`)")
	fs.StringVar(&c.tlsKey, "tls-key", "", "the key of --tls-cert")
	fs.StringVar(&c.tlsBundle, "tls-bundle", "", "with --tls-cert: the roots the servers' certificates are verified with (PEM)")
	fs.StringVar(&c.trustDomain, "trust-domain", "mesh.local", "with --tls-cert: the mesh's trust domain")
	if cmd == "proxy-config" {
		fs.StringVar(&c.admin, "admin", "", "the sidecar's admin address (default: the one in its node metadata)")
	}
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: %s %s [flags]\n\n%s\n\nflags:\n", name, usageArgs[cmd], Commands[cmd])
		fs.PrintDefaults()
	}
	positional, err := parseInterspersed(fs, args)
	if err != nil {
		return cli.Exit(name, usage(err), stderr)
	}
	switch c.output {
	case "table", "json", "yaml":
	default:
		return cli.Exit(name, usage(fmt.Errorf("-o %q: use table, json or yaml", c.output)), stderr)
	}
	return cli.Exit(name, run(c, positional, stdout, stderr), stderr)
}

var usageArgs = map[string]string{
	"proxy-status": "[NODE]",
	"proxy-config": "NODE [clusters|endpoints|routes|all]",
	"describe":     "service SERVICE",
}

// common holds the flags every view has.
type common struct {
	pilots  listFlag
	meta    string
	output  string
	timeout time.Duration
	admin   string

	tlsCert, tlsKey, tlsBundle, trustDomain string
}

func (c *common) inspector() (*inspect.Inspector, error) {
	cfg, err := inspect.TLSFiles(c.tlsCert, c.tlsKey, c.tlsBundle, c.trustDomain)
	if err != nil {
		return nil, usage(err)
	}
	in, err := inspect.New(inspect.Options{Pilots: c.pilots, Meta: c.meta, Timeout: c.timeout, TLS: cfg})
	if err != nil {
		return nil, usage(errors.New(strings.TrimPrefix(err.Error(), "inspect: ")))
	}
	return in, nil
}

// ctx bounds a whole view: Meta, then the pilots, then a sidecar, each
// within the timeout.
func (c *common) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 4*c.timeout+time.Second)
}

type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error {
	if s == "" {
		return errors.New("empty address")
	}
	*l = append(*l, s)
	return nil
}

func usage(err error) error { return cli.UsageError{Err: err} }

// parseInterspersed parses flags anywhere among the arguments
// ("proxy-config web-1 -o json").
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, nil
		}
		if args[0] == "--" {
			return append(positional, args[1:]...), nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}

// encode writes v as JSON or YAML.
func encode(w io.Writer, format string, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return err
	}
	b := buf.Bytes()
	if format == "yaml" {
		var err error
		if b, err = yaml.JSONToYAML(b); err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	}
	_, err := w.Write(b)
	return err
}

// warn reports sources that did not answer.
func warn(stderr io.Writer, cmd string, list []inspect.Unreachable) {
	for _, u := range list {
		fmt.Fprintf(stderr, "octomesh ctl %s: warning: %s: %s\n", cmd, u.Source, u.Error)
	}
}
