package deploy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"
)

// The components the scrape configs label targets with; the alerts and
// dashboards select on them.
var knownComponents = []string{"sidecar", "pilot", "meta", "scanner", "dispatcher", "agent"}

// strictYAML decodes one YAML document into v, refusing fields v does not
// have, and a second document.
func strictYAML(name string, data []byte, v any) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%s: %v", name, err)
	}
	var extra any
	if err := dec.Decode(&extra); err == nil {
		return fmt.Errorf("%s: more than one YAML document", name)
	}
	return nil
}

// The alert rule file, as far as we write it (Prometheus' rule file
// format: groups of rules; recording rules are not used).
type ruleFile struct {
	Groups []ruleGroup `yaml:"groups"`
}

type ruleGroup struct {
	Name     string `yaml:"name"`
	Interval string `yaml:"interval"`
	Rules    []rule `yaml:"rules"`
}

type rule struct {
	Alert       string            `yaml:"alert"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

var alertName = regexp.MustCompile(`^Octomesh[A-Z][A-Za-z0-9]+$`)

// readAlerts decodes an alert rule file and checks its structure; it
// returns the rules, or every problem found.
func readAlerts(name string, data []byte) ([]rule, []error) {
	var f ruleFile
	if err := strictYAML(name, data, &f); err != nil {
		return nil, []error{err}
	}
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(name+": "+format, a...)) }
	if len(f.Groups) == 0 {
		bad("no groups")
	}
	groups, alerts := map[string]bool{}, map[string]bool{}
	var rules []rule
	for gi, g := range f.Groups {
		if g.Name == "" || groups[g.Name] {
			bad("groups[%d]: name %q is empty or not unique", gi, g.Name)
		}
		groups[g.Name] = true
		if g.Interval != "" {
			if _, err := model.ParseDuration(g.Interval); err != nil {
				bad("group %s: interval: %v", g.Name, err)
			}
		}
		if len(g.Rules) == 0 {
			bad("group %s: no rules", g.Name)
		}
		for ri, r := range g.Rules {
			where := fmt.Sprintf("group %s, rules[%d] (%s)", g.Name, ri, r.Alert)
			if !alertName.MatchString(r.Alert) {
				bad("%s: alert %q: want a name like OctomeshSidecarDown", where, r.Alert)
			}
			if alerts[r.Alert] {
				bad("%s: alert %s is defined twice", where, r.Alert)
			}
			alerts[r.Alert] = true
			if strings.TrimSpace(r.Expr) == "" {
				bad("%s: expr is empty", where)
			} else if _, err := metricNames(r.Expr); err != nil {
				bad("%s: expr: %v", where, err)
			}
			if _, err := model.ParseDuration(r.For); err != nil {
				bad("%s: for %q: %v (write 0m for at once)", where, r.For, err)
			}
			if s := r.Labels["severity"]; s != "warning" && s != "critical" {
				bad("%s: labels.severity %q: want warning or critical", where, s)
			}
			for _, a := range []string{"summary", "description"} {
				if strings.TrimSpace(r.Annotations[a]) == "" {
					bad("%s: annotations.%s is empty", where, a)
				}
			}
			rules = append(rules, r)
		}
	}
	return rules, errs
}

// A Grafana dashboard, as far as the checks go.
type dashboard struct {
	UID           string  `json:"uid"`
	Title         string  `json:"title"`
	SchemaVersion int     `json:"schemaVersion"`
	Panels        []panel `json:"panels"`
	Templating    struct {
		List []variable `json:"list"`
	} `json:"templating"`
}

type panel struct {
	ID         int         `json:"id"`
	Type       string      `json:"type"`
	Title      string      `json:"title"`
	Datasource *datasource `json:"datasource"`
	GridPos    struct {
		H, W, X, Y int
	} `json:"gridPos"`
	Targets []target `json:"targets"`
	Panels  []panel  `json:"panels"` // a collapsed row's
}

type target struct {
	RefID      string      `json:"refId"`
	Expr       string      `json:"expr"`
	Datasource *datasource `json:"datasource"`
}

type datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type variable struct {
	Name       string          `json:"name"`
	Type       string          `json:"type"`
	Datasource *datasource     `json:"datasource"`
	Query      json.RawMessage `json:"query"`
}

// query is a variable's query: a string, or {"query": "..."}.
func (v variable) query() (string, error) {
	var s string
	if err := json.Unmarshal(v.Query, &s); err == nil {
		return s, nil
	}
	var o struct {
		Query string `json:"query"`
	}
	if err := json.Unmarshal(v.Query, &o); err != nil {
		return "", fmt.Errorf("variable %s: query is neither a string nor {\"query\": ...}", v.Name)
	}
	return o.Query, nil
}

// promExpr is one PromQL expression found in a file, and where.
type promExpr struct {
	Where, Expr string
}

var grafanaVar = regexp.MustCompile(`\$(?:\{([A-Za-z0-9_]+)(?::[a-z]+)?\}|([A-Za-z0-9_]+))`)

// readDashboard decodes a dashboard and checks its structure; it returns
// its PromQL expressions (panel targets, variable queries), or every
// problem found.
func readDashboard(name string, data []byte) (dashboard, []promExpr, []error) {
	var d dashboard
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&d); err != nil {
		return d, nil, []error{fmt.Errorf("%s: %v", name, err)}
	}
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(name+": "+format, a...)) }
	if d.UID == "" || d.Title == "" || d.SchemaVersion == 0 {
		bad("uid %q, title %q, schemaVersion %d: all three are needed", d.UID, d.Title, d.SchemaVersion)
	}
	vars := map[string]string{}
	for _, v := range d.Templating.List {
		if vars[v.Name] != "" {
			bad("variable %s is defined twice", v.Name)
		}
		vars[v.Name] = v.Type
	}
	if vars["datasource"] != "datasource" {
		bad(`no "datasource" variable of type datasource: the panels' data source is ${datasource}`)
	}
	// checkVars reports $variables in expr that the dashboard lacks.
	checkVars := func(where, expr string) {
		for _, m := range grafanaVar.FindAllStringSubmatch(expr, -1) {
			if v := m[1] + m[2]; !strings.HasPrefix(v, "__") && vars[v] == "" {
				bad("%s: $%s is no variable of the dashboard", where, v)
			}
		}
	}
	var exprs []promExpr
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		where := fmt.Sprintf("variable %s", v.Name)
		if v.Datasource == nil || v.Datasource.UID != "${datasource}" {
			bad("%s: datasource %+v: want uid ${datasource}", where, v.Datasource)
		}
		q, err := v.query()
		if err == nil {
			q, err = variableQuery(q)
		}
		if err != nil {
			bad("%v", err)
		} else if q != "" {
			if _, err := metricNames(q); err != nil {
				bad("%s: query: %v", where, err)
			}
			checkVars(where, q)
			exprs = append(exprs, promExpr{where, q})
		}
	}
	ids := map[int]string{}
	var walk func(ps []panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			where := fmt.Sprintf("panel %d %q", p.ID, p.Title)
			if p.ID <= 0 {
				bad("%s: id must be above 0", where)
			} else if other, dup := ids[p.ID]; dup {
				bad("%s: id %d is also panel %q's", where, p.ID, other)
			}
			ids[p.ID] = p.Title
			if p.Title == "" {
				bad("%s: no title", where)
			}
			g := p.GridPos
			if g.W < 1 || g.H < 1 || g.X < 0 || g.X+g.W > 24 || g.Y < 0 {
				bad("%s: gridPos %+v is outside the 24 columns", where, g)
			}
			if p.Type == "row" {
				if len(p.Targets) > 0 {
					bad("%s: a row has no queries", where)
				}
				walk(p.Panels)
				continue
			}
			if p.Datasource == nil || p.Datasource.UID != "${datasource}" {
				bad("%s: datasource %+v: want uid ${datasource}", where, p.Datasource)
			}
			if len(p.Targets) == 0 {
				bad("%s: no targets", where)
			}
			refs := map[string]bool{}
			for ti, t := range p.Targets {
				tw := fmt.Sprintf("%s target %s", where, t.RefID)
				if t.RefID == "" || refs[t.RefID] {
					bad("%s targets[%d]: refId %q is empty or not unique", where, ti, t.RefID)
				}
				refs[t.RefID] = true
				if strings.TrimSpace(t.Expr) == "" {
					bad("%s: expr is empty", tw)
					continue
				}
				if _, err := metricNames(t.Expr); err != nil {
					bad("%s: expr: %v", tw, err)
				}
				checkVars(tw, t.Expr)
				exprs = append(exprs, promExpr{tw, t.Expr})
			}
		}
	}
	walk(d.Panels)
	return d, exprs, errs
}

// The scrape config, as far as we write it.
type promConfig struct {
	Global struct {
		ScrapeInterval     string `yaml:"scrape_interval"`
		ScrapeTimeout      string `yaml:"scrape_timeout"`
		EvaluationInterval string `yaml:"evaluation_interval"`
	} `yaml:"global"`
	RuleFiles     []string       `yaml:"rule_files"`
	ScrapeConfigs []scrapeConfig `yaml:"scrape_configs"`
}

type scrapeConfig struct {
	JobName       string `yaml:"job_name"`
	StaticConfigs []struct {
		Targets []string          `yaml:"targets"`
		Labels  map[string]string `yaml:"labels"`
	} `yaml:"static_configs"`
	KubernetesSDConfigs []struct {
		Role       string `yaml:"role"`
		Namespaces struct {
			Names []string `yaml:"names"`
		} `yaml:"namespaces"`
	} `yaml:"kubernetes_sd_configs"`
	FileSDConfigs []struct {
		Files []string `yaml:"files"`
	} `yaml:"file_sd_configs"`
	RelabelConfigs []relabel `yaml:"relabel_configs"`
}

type relabel struct {
	SourceLabels []string `yaml:"source_labels"`
	Regex        *string  `yaml:"regex"`
	Action       string   `yaml:"action"`
	TargetLabel  string   `yaml:"target_label"`
	Replacement  *string  `yaml:"replacement"`
}

// readScrapeConfig decodes a scrape config and checks it: its rule files
// are beside it, job names are unique, every static target says its
// component, every discovery job sets one, relabel rules are ones we
// understand.
func readScrapeConfig(name string, data []byte) (promConfig, []error) {
	var c promConfig
	if err := strictYAML(name, data, &c); err != nil {
		return c, []error{err}
	}
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(name+": "+format, a...)) }
	for _, d := range []string{c.Global.ScrapeInterval, c.Global.ScrapeTimeout, c.Global.EvaluationInterval} {
		if _, err := model.ParseDuration(d); err != nil {
			bad("global: %v", err)
		}
	}
	for _, rf := range c.RuleFiles {
		if _, err := fs.Stat(Monitoring, path.Join(path.Dir(name), rf)); err != nil {
			bad("rule_files: %s is not beside it", rf)
		}
	}
	jobs := map[string]bool{}
	for _, sc := range c.ScrapeConfigs {
		if sc.JobName == "" || jobs[sc.JobName] {
			bad("job_name %q is empty or not unique", sc.JobName)
		}
		jobs[sc.JobName] = true
		if len(sc.StaticConfigs)+len(sc.KubernetesSDConfigs)+len(sc.FileSDConfigs) == 0 {
			bad("job %s: no targets and no discovery", sc.JobName)
		}
		for _, st := range sc.StaticConfigs {
			if !slices.Contains(knownComponents, st.Labels["component"]) {
				bad("job %s: targets %v: labels.component %q: want one of %v", sc.JobName, st.Targets, st.Labels["component"], knownComponents)
			}
		}
		setsComponent := false
		for i, r := range sc.RelabelConfigs {
			if _, err := r.compile(); err != nil {
				bad("job %s: relabel_configs[%d]: %v", sc.JobName, i, err)
			}
			setsComponent = setsComponent || r.TargetLabel == "component"
		}
		if len(sc.KubernetesSDConfigs) > 0 && !setsComponent {
			bad("job %s: no relabel rule sets the component label", sc.JobName)
		}
	}
	return c, errs
}

func (r relabel) compile() (*regexp.Regexp, error) {
	switch r.Action {
	case "", "replace", "keep", "drop":
	default:
		return nil, fmt.Errorf("action %q: this test knows replace, keep and drop", r.Action)
	}
	if (r.Action == "" || r.Action == "replace") && r.TargetLabel == "" {
		return nil, fmt.Errorf("replace without target_label")
	}
	re := "(.*)"
	if r.Regex != nil {
		re = *r.Regex
	}
	return regexp.Compile("^(?:" + re + ")$")
}

// apply runs relabel rules over a target's labels as Prometheus does for
// replace, keep and drop; false means the target is dropped.
func apply(rules []relabel, labels map[string]string) bool {
	for _, r := range rules {
		re, err := r.compile()
		if err != nil {
			return false
		}
		vals := make([]string, len(r.SourceLabels))
		for i, l := range r.SourceLabels {
			vals[i] = labels[l]
		}
		v := strings.Join(vals, ";")
		switch r.Action {
		case "keep":
			if !re.MatchString(v) {
				return false
			}
		case "drop":
			if re.MatchString(v) {
				return false
			}
		default:
			m := re.FindStringSubmatchIndex(v)
			if m == nil {
				continue
			}
			repl := "$1"
			if r.Replacement != nil {
				repl = *r.Replacement
			}
			if out := string(re.ExpandString(nil, repl, v, m)); out != "" {
				labels[r.TargetLabel] = out
			} else {
				delete(labels, r.TargetLabel)
			}
		}
	}
	return true
}

// files lists the embedded files matching a glob, sorted.
func files(t *testing.T, glob string) []string {
	t.Helper()
	names, err := fs.Glob(Monitoring, glob)
	if err != nil || len(names) == 0 {
		t.Fatalf("no %s (%v)", glob, err)
	}
	sort.Strings(names)
	return names
}

func read(t *testing.T, name string) []byte {
	t.Helper()
	b, err := fs.ReadFile(Monitoring, name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestAlertRulesAreWellFormed(t *testing.T) {
	rules, errs := readAlerts("prometheus/alerts.yml", read(t, "prometheus/alerts.yml"))
	for _, err := range errs {
		t.Error(err)
	}
	if len(rules) < 10 {
		t.Errorf("%d alert rules; the file has more", len(rules))
	}
}

func TestAlertRulesCheckerRefusesBadFiles(t *testing.T) {
	good := `groups:
  - name: g
    rules:
      - alert: OctomeshThing
        expr: up == 0
        for: 1m
        labels: {severity: warning}
        annotations: {summary: s, description: d}
`
	if _, errs := readAlerts("good.yml", []byte(good)); len(errs) > 0 {
		t.Fatalf("a good file: %v", errs)
	}
	for change, want := range map[[2]string]string{
		{"expr: up == 0", "exp: up == 0"}:                     "field exp not found",
		{"for: 1m", "for: 1 minute"}:                          `for "1 minute"`,
		{"severity: warning", "severity: page"}:               `labels.severity "page"`,
		{"summary: s, ", ""}:                                  "annotations.summary is empty",
		{"alert: OctomeshThing", "alert: sidecar down"}:       `alert "sidecar down"`,
		{"expr: up == 0", "expr: rate(up[5m]"}:                "not closed",
		{"      - alert: OctomeshThing", "      - record: x"}: "field record not found",
	} {
		bad := strings.Replace(good, change[0], change[1], 1)
		_, errs := readAlerts("bad.yml", []byte(bad))
		if !strings.Contains(fmt.Sprint(errs), want) || !strings.Contains(fmt.Sprint(errs), "bad.yml") {
			t.Errorf("%q -> %q: errors %v, want one naming bad.yml and saying %q", change[0], change[1], errs, want)
		}
	}
}

func TestDashboardsAreWellFormed(t *testing.T) {
	uids := map[string]string{}
	for _, name := range files(t, "grafana/dashboards/*.json") {
		d, exprs, errs := readDashboard(name, read(t, name))
		for _, err := range errs {
			t.Error(err)
		}
		if other, dup := uids[d.UID]; dup {
			t.Errorf("%s: uid %s is also %s's", name, d.UID, other)
		}
		uids[d.UID] = name
		if len(exprs) < 10 {
			t.Errorf("%s: only %d expressions found", name, len(exprs))
		}
	}
	if len(uids) != 2 {
		t.Errorf("%d dashboards, want the sidecar's and the control plane's", len(uids))
	}
}

func TestDashboardCheckerRefusesBadPanels(t *testing.T) {
	name := "grafana/dashboards/octomesh-sidecar.json"
	good := string(read(t, name))
	for change, want := range map[[2]string]string{
		{`"id": 3,`, `"id": 2,`}:                             "id 2 is also panel",
		{`"expr": "sum by (instance)`, `"expr": "", "x": "`}: "expr is empty",
		{`"refId": "B"`, `"refId": "A"`}:                     `refId "A" is empty or not unique`,
		{`app=~\"$app\"`, `app=~\"$application\"`}:           "$application is no variable",
		{`"uid": "${datasource}"`, `"uid": "prometheus"`}:    "want uid ${datasource}",
		{`[$__rate_interval]))`, `[$__rate_interval])`}:      "not closed",
		{`"w": 8,`, `"w": 30,`}:                              "outside the 24 columns",
		{`"panels": [`, `"panels": {`}:                       "octomesh-sidecar.json",
	} {
		if !strings.Contains(good, change[0]) {
			t.Fatalf("%s has no %s to change", name, change[0])
		}
		_, _, errs := readDashboard(name, []byte(strings.Replace(good, change[0], change[1], 1)))
		if !strings.Contains(fmt.Sprint(errs), want) {
			t.Errorf("%s -> %s: errors %v, want one saying %q", change[0], change[1], errs, want)
		}
	}
}

func TestScrapeConfigsAreWellFormed(t *testing.T) {
	for _, name := range files(t, "prometheus/prometheus*.yml") {
		c, errs := readScrapeConfig(name, read(t, name))
		for _, err := range errs {
			t.Error(err)
		}
		if !slices.Contains(c.RuleFiles, "alerts.yml") {
			t.Errorf("%s: rule_files %v does not load alerts.yml", name, c.RuleFiles)
		}
	}
	_, errs := readScrapeConfig("prometheus/x.yml", []byte("rule_files: [nope.yml]\nscrape_configs:\n  - job_name: a\n    static_configs: [{targets: [\"h:1\"], labels: {component: pilots}}]\n  - job_name: a\n    kubernetes_sd_configs: [{role: pod}]\n"))
	for _, want := range []string{"nope.yml is not beside it", `labels.component "pilots"`, `job_name "a" is empty or not unique`, "no relabel rule sets the component label"} {
		if !strings.Contains(fmt.Sprint(errs), want) {
			t.Errorf("a bad config: errors %v, want one saying %q", errs, want)
		}
	}
}

// The provisioning files load the dashboards from one folder and name a
// Prometheus data source.
func TestProvisioning(t *testing.T) {
	var dash struct {
		APIVersion int `yaml:"apiVersion"`
		Providers  []struct {
			Name, Folder, Type    string
			OrgID                 int  `yaml:"orgId"`
			DisableDeletion       bool `yaml:"disableDeletion"`
			AllowUIUpdates        bool `yaml:"allowUiUpdates"`
			UpdateIntervalSeconds int  `yaml:"updateIntervalSeconds"`
			Options               struct {
				Path                      string
				FoldersFromFilesStructure bool `yaml:"foldersFromFilesStructure"`
			}
		}
	}
	if err := strictYAML("dashboards", read(t, "grafana/provisioning/dashboards/octomesh.yml"), &dash); err != nil {
		t.Fatal(err)
	}
	if dash.APIVersion != 1 || len(dash.Providers) != 1 || dash.Providers[0].Type != "file" || dash.Providers[0].Options.Path == "" {
		t.Errorf("dashboard provisioning: %+v", dash)
	}
	var ds struct {
		APIVersion  int `yaml:"apiVersion"`
		Datasources []struct {
			Name, Type, Access, URL string
			IsDefault               bool `yaml:"isDefault"`
			JSONData                struct {
				TimeInterval string `yaml:"timeInterval"`
			} `yaml:"jsonData"`
		}
	}
	if err := strictYAML("datasources", read(t, "grafana/provisioning/datasources/prometheus.yml"), &ds); err != nil {
		t.Fatal(err)
	}
	if ds.APIVersion != 1 || len(ds.Datasources) != 1 || ds.Datasources[0].Type != "prometheus" {
		t.Errorf("data source provisioning: %+v", ds)
	}
}
