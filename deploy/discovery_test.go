package deploy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/octomesh/octomesh/deploy/kubernetes"
)

// workload is what pod discovery sees of a Deployment or StatefulSet's
// pods.
type workload struct {
	Kind     string `yaml:"kind"`
	Metadata struct {
		Name      string `yaml:"name"`
		Namespace string `yaml:"namespace"`
	} `yaml:"metadata"`
	Spec struct {
		Template struct {
			Metadata struct {
				Labels map[string]string `yaml:"labels"`
			} `yaml:"metadata"`
			Spec struct {
				Containers []struct {
					Name  string `yaml:"name"`
					Ports []struct {
						Name          string `yaml:"name"`
						ContainerPort int    `yaml:"containerPort"`
					} `yaml:"ports"`
				} `yaml:"containers"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

var invalidLabelChars = regexp.MustCompile(`[^a-zA-Z0-9_]`)

// podTargets are the targets Prometheus' pod discovery makes of one pod of
// w: one per declared container port, one per container without ports,
// with the __meta_kubernetes_* labels our scrape configs read.
func podTargets(w workload) []map[string]string {
	var out []map[string]string
	base := map[string]string{
		"__meta_kubernetes_namespace": w.Metadata.Namespace,
		"__meta_kubernetes_pod_name":  w.Metadata.Name + "-0",
	}
	for k, v := range w.Spec.Template.Metadata.Labels {
		base["__meta_kubernetes_pod_label_"+invalidLabelChars.ReplaceAllString(k, "_")] = v
	}
	for _, c := range w.Spec.Template.Spec.Containers {
		target := func(portName string, port int) map[string]string {
			l := map[string]string{"__meta_kubernetes_pod_container_name": c.Name, "__meta_kubernetes_pod_container_port_name": portName,
				"__address__": "10.0.0.1"}
			if port > 0 {
				l["__meta_kubernetes_pod_container_port_number"] = strconv.Itoa(port)
				l["__address__"] += ":" + strconv.Itoa(port)
			}
			for k, v := range base {
				l[k] = v
			}
			return l
		}
		if len(c.Ports) == 0 {
			out = append(out, target("", 0))
		}
		for _, p := range c.Ports {
			out = append(out, target(p.Name, p.ContainerPort))
		}
	}
	return out
}

// workloads reads every Deployment and StatefulSet in deploy/kubernetes.
func workloads(t *testing.T) []workload {
	t.Helper()
	var out []workload
	err := fs.WalkDir(kubernetes.Manifests, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(kubernetes.Manifests, path)
		if err != nil {
			return err
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		for {
			var w workload
			if err := dec.Decode(&w); errors.Is(err, io.EOF) {
				return nil
			} else if err != nil {
				return fmt.Errorf("%s: %v", path, err)
			}
			if w.Kind == "Deployment" || w.Kind == "StatefulSet" || w.Kind == "DaemonSet" {
				out = append(out, w)
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) < 5 {
		t.Fatalf("only %d workloads in deploy/kubernetes", len(out))
	}
	return out
}

// The pod discovery of prometheus.yml, run over the pods of the manifests
// in deploy/kubernetes, finds each sidecar's admin port and each
// control-plane server's HTTP port, labelled with its component, and
// nothing else.
func TestPodDiscoveryFindsTheManifestsPods(t *testing.T) {
	c, errs := readScrapeConfig("prometheus/prometheus.yml", read(t, "prometheus/prometheus.yml"))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	var found []string
	for _, w := range workloads(t) {
		for _, sc := range c.ScrapeConfigs {
			for _, sd := range sc.KubernetesSDConfigs {
				if sd.Role != "pod" {
					t.Fatalf("job %s: role %s: this test knows pod discovery", sc.JobName, sd.Role)
				}
				if len(sd.Namespaces.Names) > 0 && !slices.Contains(sd.Namespaces.Names, w.Metadata.Namespace) {
					continue
				}
				for _, l := range podTargets(w) {
					if apply(sc.RelabelConfigs, l) {
						found = append(found, fmt.Sprintf("%s %s/%s %s %s", sc.JobName, w.Metadata.Namespace, w.Metadata.Name, l["__address__"], l["component"]))
					}
				}
			}
		}
	}
	sort.Strings(found)
	want := []string{
		"octomesh-control-plane octomesh-system/octomesh-dispatcher 10.0.0.1:15050 dispatcher",
		"octomesh-control-plane octomesh-system/octomesh-meta 10.0.0.1:15020 meta",
		"octomesh-control-plane octomesh-system/octomesh-pilot 10.0.0.1:15011 pilot",
		"octomesh-control-plane octomesh-system/octomesh-scanner 10.0.0.1:15030 scanner",
		"octomesh-sidecars octomesh-demo/echo-server 10.0.0.1:9901 sidecar",
	}
	if !slices.Equal(found, want) {
		t.Errorf("pod discovery over deploy/kubernetes finds\n  %q\nwant\n  %q", found, want)
	}
}

func TestApplyRelabel(t *testing.T) {
	s := func(v string) *string { return &v }
	rules := []relabel{
		{SourceLabels: []string{"a"}, Regex: s("x|y"), Action: "keep"},
		{SourceLabels: []string{"b"}, Regex: s("svc-(.+)"), TargetLabel: "c", Replacement: s("$1")},
		{TargetLabel: "d", Replacement: s("fixed")},
		{SourceLabels: []string{"a", "b"}, Regex: s("y;.*"), Action: "drop"},
	}
	l := map[string]string{"a": "x", "b": "svc-pilot"}
	if !apply(rules, l) || l["c"] != "pilot" || l["d"] != "fixed" {
		t.Errorf("kept %v", l)
	}
	if apply(rules, map[string]string{"a": "xx"}) {
		t.Error("a=xx kept: keep regexes are anchored")
	}
	if apply(rules, map[string]string{"a": "y", "b": "q"}) {
		t.Error("a=y kept: the drop rule joins source labels with ;")
	}
}
