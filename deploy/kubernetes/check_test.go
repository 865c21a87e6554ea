package kubernetes

import (
	"fmt"
	"net"
	"os/exec"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/octomesh/octomesh/config"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// octomeshImage is the repository of the image that holds the octomesh
// binary (and /bin/sh, for the sidecar's slot script).
const octomeshImage = "ghcr.io/octomesh/octomesh"

// flagLookup says which flags an octomesh command has (name: takes a
// value), and whether the command exists.
type flagLookup func(command string) (flags map[string]bool, exists bool)

// workload is a Deployment or a StatefulSet: a pod template.
type workload struct {
	object
	selector    *metav1.LabelSelector
	template    *corev1.PodTemplateSpec
	claims      map[string]bool // a StatefulSet's volumeClaimTemplates
	serviceName string          // a StatefulSet's governing Service
}

// checker runs the checks over one set of manifests and gathers what fails.
type checker struct {
	objs       []object
	workloads  []workload
	configMaps map[string]*corev1.ConfigMap // by namespace/name
	services   map[string]*corev1.Service
	accounts   map[string]bool
	namespaces map[string]bool
	flags      flagLookup // nil: the flags are not checked

	errs     []string
	notYet   map[string]bool // octomesh commands that do not exist yet
	octoTags map[string]bool // the tags of the octomesh images
}

// check checks that the manifests agree with each other, with the sidecar
// config they carry, and (with flags) with the octomesh commands. It
// returns what fails, and the octomesh commands named that do not exist.
func check(objs []object, flags flagLookup) (errs, notYet []string) {
	c := &checker{
		objs: objs, flags: flags,
		configMaps: map[string]*corev1.ConfigMap{}, services: map[string]*corev1.Service{},
		accounts: map[string]bool{}, namespaces: map[string]bool{},
		notYet: map[string]bool{}, octoTags: map[string]bool{},
	}
	for _, o := range objs {
		key := o.meta.Namespace + "/" + o.meta.Name
		switch v := o.obj.(type) {
		case *corev1.Namespace:
			c.namespaces[o.meta.Name] = true
		case *corev1.ConfigMap:
			c.configMaps[key] = v
		case *corev1.Service:
			c.services[key] = v
		case *corev1.ServiceAccount:
			c.accounts[key] = true
		case *appsv1.Deployment:
			c.workloads = append(c.workloads, workload{object: o, selector: v.Spec.Selector, template: &v.Spec.Template})
		case *appsv1.StatefulSet:
			w := workload{object: o, selector: v.Spec.Selector, template: &v.Spec.Template, claims: map[string]bool{}, serviceName: v.Spec.ServiceName}
			for _, pvc := range v.Spec.VolumeClaimTemplates {
				w.claims[pvc.Name] = true
			}
			c.workloads = append(c.workloads, w)
		}
	}
	for _, o := range objs {
		if ns := o.meta.Namespace; ns != "" && !c.namespaces[ns] {
			c.errorf(o, "namespace %q is not declared by any manifest", ns)
		}
	}
	for _, w := range c.workloads {
		c.checkWorkload(w)
	}
	for _, o := range objs {
		switch v := o.obj.(type) {
		case *corev1.Service:
			c.checkService(o, v)
		case *policyv1.PodDisruptionBudget:
			c.selected(o, v.Spec.Selector, "spec.selector")
		case *networkingv1.NetworkPolicy:
			c.checkNetworkPolicy(o, v)
		}
	}
	if len(c.octoTags) > 1 {
		c.errs = append(c.errs, fmt.Sprintf("the octomesh images have several tags %v: one release at a time", sortedKeys(c.octoTags)))
	}
	return c.errs, sortedKeys(c.notYet)
}

func (c *checker) errorf(o fmt.Stringer, format string, args ...any) {
	c.errs = append(c.errs, o.String()+": "+fmt.Sprintf(format, args...))
}

// selected returns the workloads of o's namespace that sel selects, and
// reports an error when there is none.
func (c *checker) selected(o object, sel *metav1.LabelSelector, field string) []workload {
	if sel == nil || (len(sel.MatchLabels) == 0 && len(sel.MatchExpressions) == 0) {
		c.errorf(o, "%s is empty", field)
		return nil
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		c.errorf(o, "%s: %v", field, err)
		return nil
	}
	var out []workload
	for _, w := range c.workloads {
		if w.meta.Namespace == o.meta.Namespace && s.Matches(labels.Set(w.template.Labels)) {
			out = append(out, w)
		}
	}
	if len(out) == 0 {
		c.errorf(o, "%s %v selects the pods of no workload", field, sel.MatchLabels)
	}
	return out
}

func (c *checker) checkWorkload(w workload) {
	sel, err := metav1.LabelSelectorAsSelector(w.selector)
	if err != nil || w.selector == nil || sel.Empty() {
		c.errorf(w, "spec.selector is missing or invalid (%v)", err)
	} else if !sel.Matches(labels.Set(w.template.Labels)) {
		c.errorf(w, "spec.selector %v does not select the pod template's labels %v", w.selector.MatchLabels, w.template.Labels)
	}
	if w.serviceName != "" {
		s, ok := c.services[w.meta.Namespace+"/"+w.serviceName]
		switch {
		case !ok:
			c.errorf(w, "spec.serviceName %q: no such Service", w.serviceName)
		case s.Spec.ClusterIP != corev1.ClusterIPNone:
			c.errorf(w, "spec.serviceName %q: the Service is not headless (clusterIP: None)", w.serviceName)
		}
	}
	pod := &w.template.Spec
	if sa := pod.ServiceAccountName; sa != "" && !c.accounts[w.meta.Namespace+"/"+sa] {
		c.errorf(w, "serviceAccountName %q: no such ServiceAccount", sa)
	}
	volumes := map[string]*corev1.Volume{}
	for i := range pod.Volumes {
		v := &pod.Volumes[i]
		volumes[v.Name] = v
		if v.ConfigMap != nil {
			cm, ok := c.configMaps[w.meta.Namespace+"/"+v.ConfigMap.Name]
			if !ok {
				c.errorf(w, "volume %s: ConfigMap %q does not exist", v.Name, v.ConfigMap.Name)
				continue
			}
			for _, it := range v.ConfigMap.Items {
				if _, ok := cm.Data[it.Key]; !ok {
					c.errorf(w, "volume %s: ConfigMap %s has no key %q", v.Name, cm.Name, it.Key)
				}
			}
		}
	}
	for _, ct := range pod.Containers {
		for _, m := range ct.VolumeMounts {
			if volumes[m.Name] == nil && !w.claims[m.Name] {
				c.errorf(w, "container %s mounts %q: the pod has no such volume", ct.Name, m.Name)
			}
		}
		c.checkEnvReferences(w, ct)
		for _, p := range []*corev1.Probe{ct.ReadinessProbe, ct.LivenessProbe, ct.StartupProbe} {
			if p != nil && p.HTTPGet != nil {
				if _, err := probePort(pod, ct, p.HTTPGet.Port); err != nil {
					c.errorf(w, "container %s: probe %s: %v", ct.Name, p.HTTPGet.Path, err)
				}
			}
		}
		c.checkImage(w, ct)
	}
	c.checkSidecar(w, volumes)
}

// envReference is a $(VAR) the kubelet expands in command and args.
var envReference = regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)

func (c *checker) checkEnvReferences(w workload, ct corev1.Container) {
	env := map[string]bool{}
	for _, e := range ct.Env {
		env[e.Name] = true
	}
	for _, s := range append(append([]string(nil), ct.Command...), ct.Args...) {
		for _, m := range envReference.FindAllStringSubmatch(s, -1) {
			if !env[m[1]] {
				c.errorf(w, "container %s: $(%s) in its command or args is not in its env", ct.Name, m[1])
			}
		}
	}
}

// probePort resolves a probe's port: a name declared by the container
// itself (the kubelet looks only there), or a number that a container of
// the pod declares.
func probePort(pod *corev1.PodSpec, ct corev1.Container, port intstr.IntOrString) (int32, error) {
	if port.Type == intstr.String {
		for _, p := range ct.Ports {
			if p.Name == port.StrVal {
				return p.ContainerPort, nil
			}
		}
		return 0, fmt.Errorf("port %q is not a port of container %s", port.StrVal, ct.Name)
	}
	for _, other := range pod.Containers {
		for _, p := range other.Ports {
			if p.ContainerPort == port.IntVal {
				return port.IntVal, nil
			}
		}
	}
	return 0, fmt.Errorf("port %d is declared by no container of the pod", port.IntVal)
}

// invocation is an octomesh command a container runs: directly
// (command: [octomesh], args: [cmd, flags...]) or through the sidecar's
// slot script (command: [/bin/sh, script], args: [octomesh, cmd, flags...]).
type invocation struct {
	command string
	flags   map[string]string // --name=value; "" for a bool flag
	script  string            // the slot script's path, if any
}

func parseInvocation(ct corev1.Container) (inv invocation, ok bool, err error) {
	var rest []string
	switch {
	case len(ct.Command) > 0 && path.Base(ct.Command[0]) == "octomesh":
		rest = append(append(rest, ct.Command[1:]...), ct.Args...)
	case len(ct.Command) == 2 && ct.Command[0] == "/bin/sh" && len(ct.Args) > 0 && ct.Args[0] == "octomesh":
		inv.script = ct.Command[1]
		rest = ct.Args[1:]
	default:
		return inv, false, nil
	}
	if len(rest) == 0 || strings.HasPrefix(rest[0], "-") {
		return inv, true, fmt.Errorf("octomesh without a command")
	}
	inv.command, inv.flags = rest[0], map[string]string{}
	for _, a := range rest[1:] {
		if !strings.HasPrefix(a, "-") {
			return inv, true, fmt.Errorf("argument %q: write every flag as one argument, --flag=value", a)
		}
		name, value, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		inv.flags[name] = value
	}
	return inv, true, nil
}

// checkFlags checks an invocation's flags (and those its slot script adds)
// against the command's.
func (c *checker) checkFlags(w workload, ct corev1.Container, inv invocation, scriptFlags []string) {
	if c.flags == nil {
		return
	}
	known, exists := c.flags(inv.command)
	if !exists {
		c.notYet[inv.command] = true
		return
	}
	for name, value := range inv.flags {
		takesValue, ok := known[name]
		switch {
		case !ok:
			c.errorf(w, "container %s: octomesh %s has no flag --%s (it has %s)", ct.Name, inv.command, name, strings.Join(sortedKeys(known), ", "))
		case takesValue && value == "":
			c.errorf(w, "container %s: --%s takes a value: write --%s=value", ct.Name, name, name)
		}
	}
	for _, name := range scriptFlags {
		if _, ok := known[name]; !ok {
			c.errorf(w, "container %s: its script %s adds --%s, which octomesh %s does not have", ct.Name, inv.script, name, inv.command)
		}
	}
}

// checkImage: an octomesh command runs from the octomesh image, and the
// octomesh image runs nothing else; every image has a version.
func (c *checker) checkImage(w workload, ct corev1.Container) {
	repo, tag, ok := strings.Cut(ct.Image, ":")
	if !ok || tag == "" || tag == "latest" || strings.Contains(tag, "/") {
		c.errorf(w, "container %s: image %q has no version tag", ct.Name, ct.Image)
	}
	inv, isOcto, err := parseInvocation(ct)
	if err != nil {
		c.errorf(w, "container %s: %v", ct.Name, err)
	}
	switch {
	case isOcto && repo != octomeshImage:
		c.errorf(w, "container %s runs octomesh %s from image %q, not from %s", ct.Name, inv.command, ct.Image, octomeshImage)
	case !isOcto && repo == octomeshImage:
		c.errorf(w, "container %s uses image %s but runs %q, not octomesh", ct.Name, ct.Image, ct.Command)
	case isOcto:
		c.octoTags[tag] = true
	}
	if isOcto && inv.script == "" {
		c.checkFlags(w, ct, inv, nil)
	}
}

// mounted finds the volume and the path within it of a file a container
// names, through the container's mounts.
func mounted(ct corev1.Container, file string) (m corev1.VolumeMount, rel string, ok bool) {
	for _, vm := range ct.VolumeMounts {
		dir := strings.TrimSuffix(vm.MountPath, "/")
		if strings.HasPrefix(file, dir+"/") && len(dir) > len(strings.TrimSuffix(m.MountPath, "/")) {
			m, rel, ok = vm, strings.TrimPrefix(file, dir+"/"), true
		}
	}
	if ok && m.SubPath != "" {
		rel = path.Join(m.SubPath, rel)
	}
	return m, rel, ok
}

// configMapFile reads a file a container names from the ConfigMap mounted
// there.
func (c *checker) configMapFile(w workload, volumes map[string]*corev1.Volume, ct corev1.Container, file string) (string, error) {
	m, rel, ok := mounted(ct, file)
	if !ok {
		return "", fmt.Errorf("%s is under no mount of container %s", file, ct.Name)
	}
	v := volumes[m.Name]
	if v == nil || v.ConfigMap == nil {
		return "", fmt.Errorf("%s is on volume %s, which is not a ConfigMap", file, m.Name)
	}
	cm, ok := c.configMaps[w.meta.Namespace+"/"+v.ConfigMap.Name]
	if !ok {
		return "", fmt.Errorf("%s: ConfigMap %q does not exist", file, v.ConfigMap.Name)
	}
	key := rel
	if len(v.ConfigMap.Items) > 0 {
		key = ""
		for _, it := range v.ConfigMap.Items {
			if it.Path == rel {
				key = it.Key
			}
		}
	}
	data, ok := cm.Data[key]
	if !ok || key == "" {
		return "", fmt.Errorf("%s: ConfigMap %s has no key for %q", file, cm.Name, rel)
	}
	return data, nil
}

// scriptFlag is a flag the slot script adds to the sidecar's command.
var scriptFlag = regexp.MustCompile(`(?m)(?:^|\s)--([a-z][a-z0-9-]*)`)

// checkSidecar checks a pod with sidecars (octomesh proxy): a sidecar and a
// standby container run the same command through the slot script, their
// config parses, the sockets they hand over live in an emptyDir both
// mount, the app's socket is where the app listens, and the probes hit the
// admin endpoint.
func (c *checker) checkSidecar(w workload, volumes map[string]*corev1.Volume) {
	pod := &w.template.Spec
	var proxies []corev1.Container
	var invs []invocation
	for _, ct := range pod.Containers {
		inv, ok, err := parseInvocation(ct)
		if ok && err == nil && inv.command == "proxy" {
			proxies, invs = append(proxies, ct), append(invs, inv)
		}
	}
	if len(proxies) == 0 {
		return
	}
	if len(proxies) < 2 {
		c.errorf(w, "container %s runs a sidecar without a standby container: no hot restart in this pod", proxies[0].Name)
	}
	first := proxies[0]
	for _, ct := range proxies[1:] {
		if strings.Join(ct.Command, " ") != strings.Join(first.Command, " ") || strings.Join(ct.Args, " ") != strings.Join(first.Args, " ") {
			c.errorf(w, "sidecar containers %s and %s run different commands (%q %q, %q %q)", first.Name, ct.Name, first.Command, first.Args, ct.Command, ct.Args)
		}
		if ct.Image != first.Image {
			c.errorf(w, "sidecar containers %s and %s run different images (%s, %s): patch the running pod's images, not the template", first.Name, ct.Name, first.Image, ct.Image)
		}
	}
	inv := invs[0]
	var scriptFlags []string
	if inv.script == "" {
		c.errorf(w, "container %s runs octomesh proxy without the slot script: it cannot stand by", first.Name)
	} else if script, err := c.configMapFile(w, volumes, first, inv.script); err != nil {
		c.errorf(w, "container %s: slot script: %v", first.Name, err)
	} else {
		if err := shellSyntax(script); err != nil {
			c.errorf(w, "container %s: slot script %s: %v", first.Name, inv.script, err)
		}
		for _, m := range scriptFlag.FindAllStringSubmatch(script, -1) {
			scriptFlags = append(scriptFlags, m[1])
		}
	}
	for i, ct := range proxies {
		c.checkFlags(w, ct, invs[i], scriptFlags)
	}
	file, ok := inv.flags["config"]
	if !ok || file == "" {
		c.errorf(w, "container %s: octomesh proxy without --config=FILE", first.Name)
		return
	}
	data, err := c.configMapFile(w, volumes, first, file)
	if err != nil {
		c.errorf(w, "container %s: --config: %v", first.Name, err)
		return
	}
	cfg, err := config.Parse(path.Base(file), []byte(data))
	if err != nil {
		c.errorf(w, "container %s: the sidecar config does not parse: %v", first.Name, err)
		return
	}
	c.checkSidecarConfig(w, volumes, proxies, cfg)
}

func (c *checker) checkSidecarConfig(w workload, volumes map[string]*corev1.Volume, proxies []corev1.Container, cfg *config.Config) {
	pod := &w.template.Spec
	first := proxies[0]
	// The shared volume: the one the hand-over socket is on.
	sock := cfg.HotRestart.Socket
	if sock == "" {
		c.errorf(w, "the sidecar config has no hot_restart.socket: the standby container cannot take over")
		return
	}
	m, _, ok := mounted(first, sock)
	if !ok || volumes[m.Name] == nil || volumes[m.Name].EmptyDir == nil {
		c.errorf(w, "hot_restart.socket %s is not in an emptyDir mounted by container %s", sock, first.Name)
		return
	}
	shared := m.Name
	// inShared says where a socket path of the sidecar's lies in the
	// shared volume, checking that every sidecar container sees it there.
	inShared := func(what, p string) (string, bool) {
		var rel string
		for _, ct := range proxies {
			m, r, ok := mounted(ct, p)
			if !ok || m.Name != shared {
				c.errorf(w, "%s %s is not in the emptyDir %s shared by the sidecar containers (container %s)", what, p, shared, ct.Name)
				return "", false
			}
			rel = r
		}
		return rel, true
	}
	if _, ok := inShared("hot_restart.socket", sock); !ok {
		return
	}
	declared := map[int32]bool{}
	for _, ct := range pod.Containers {
		for _, p := range ct.Ports {
			declared[p.ContainerPort] = true
		}
	}
	for _, l := range cfg.Listeners {
		network, addr, _ := config.ParseAddress(l.Address)
		if network == "unix" {
			inShared("listener "+l.Name, addr)
			continue
		}
		if port := portOf(addr); !declared[port] {
			c.errorf(w, "listener %s listens on port %d, which no container of the pod declares", l.Name, port)
		}
	}
	// The app's socket: in the shared volume, where an app container,
	// mounting it, says it listens.
	for _, cl := range cfg.Clusters {
		for _, e := range cl.Endpoints {
			network, addr, _ := config.ParseAddress(e.Address)
			if network != "unix" {
				continue
			}
			rel, ok := inShared("cluster "+cl.Name+" endpoint", addr)
			if !ok {
				continue
			}
			if !c.appListensOn(pod, proxies, shared, rel) {
				c.errorf(w, "cluster %s endpoint %s: no app container mounts the emptyDir %s and names that socket in its command, args or env", cl.Name, addr, shared)
			}
		}
	}
	// The admin endpoint: reachable by the kubelet, and probed.
	if cfg.Admin.Address == "" {
		c.errorf(w, "the sidecar config has no admin.address: nothing for the probes")
		return
	}
	host, portStr, _ := net.SplitHostPort(cfg.Admin.Address)
	if ip := net.ParseIP(host); host == "" || host == "localhost" || (ip != nil && ip.IsLoopback()) {
		c.errorf(w, "admin.address %s listens on loopback: the kubelet's probes cannot reach it", cfg.Admin.Address)
	}
	adminPort, _ := strconv.Atoi(portStr)
	for _, ct := range proxies {
		for _, pr := range []struct {
			probe *corev1.Probe
			kind  string
			path  string
		}{{ct.ReadinessProbe, "readinessProbe", "/ready"}, {ct.LivenessProbe, "livenessProbe", "/healthz"}} {
			if pr.probe == nil || pr.probe.HTTPGet == nil {
				c.errorf(w, "container %s has no httpGet %s on the admin endpoint's %s", ct.Name, pr.kind, pr.path)
				continue
			}
			if pr.probe.HTTPGet.Path != pr.path {
				c.errorf(w, "container %s: %s asks %s; the admin endpoint answers it on %s", ct.Name, pr.kind, pr.probe.HTTPGet.Path, pr.path)
			}
			if port, err := probePort(pod, ct, pr.probe.HTTPGet.Port); err == nil && int(port) != adminPort {
				c.errorf(w, "container %s: %s on port %d, but admin.address is %s", ct.Name, pr.kind, port, cfg.Admin.Address)
			}
		}
	}
	grace := int64(corev1.DefaultTerminationGracePeriodSeconds)
	if pod.TerminationGracePeriodSeconds != nil {
		grace = *pod.TerminationGracePeriodSeconds
	}
	if time.Duration(grace)*time.Second <= cfg.HotRestart.DrainTime.Std() {
		c.errorf(w, "terminationGracePeriodSeconds %d is not above hot_restart.drain_time %s: the kubelet would kill a draining sidecar", grace, cfg.HotRestart.DrainTime.Std())
	}
}

// appListensOn reports whether a container other than the sidecars mounts
// the shared volume and names the socket at rel in it (by its own path).
func (c *checker) appListensOn(pod *corev1.PodSpec, proxies []corev1.Container, shared, rel string) bool {
	isProxy := map[string]bool{}
	for _, p := range proxies {
		isProxy[p.Name] = true
	}
	for _, ct := range pod.Containers {
		if isProxy[ct.Name] {
			continue
		}
		for _, m := range ct.VolumeMounts {
			if m.Name != shared {
				continue
			}
			p := path.Join(m.MountPath, strings.TrimPrefix(rel, m.SubPath+"/"))
			words := append(append([]string(nil), ct.Command...), ct.Args...)
			for _, e := range ct.Env {
				words = append(words, e.Value)
			}
			for _, s := range words {
				if strings.Contains(s, p) {
					return true
				}
			}
		}
	}
	return false
}

func portOf(hostport string) int32 {
	_, p, _ := net.SplitHostPort(hostport)
	n, _ := strconv.Atoi(p)
	return int32(n)
}

func (c *checker) checkService(o object, s *corev1.Service) {
	if len(s.Spec.Selector) == 0 {
		c.errorf(o, "spec.selector is empty")
		return
	}
	ws := c.selected(o, &metav1.LabelSelector{MatchLabels: s.Spec.Selector}, "spec.selector")
	for _, p := range s.Spec.Ports {
		target := p.TargetPort
		if target.Type == intstr.Int && target.IntVal == 0 {
			target = intstr.FromInt32(p.Port)
		}
		for _, w := range ws {
			if !declaresPort(&w.template.Spec, target) {
				c.errorf(o, "port %s targets %s, which no container of %s declares", p.Name, target.String(), w)
			}
		}
	}
}

func declaresPort(pod *corev1.PodSpec, port intstr.IntOrString) bool {
	for _, ct := range pod.Containers {
		for _, p := range ct.Ports {
			if (port.Type == intstr.String && p.Name == port.StrVal) || (port.Type == intstr.Int && p.ContainerPort == port.IntVal) {
				return true
			}
		}
	}
	return false
}

func (c *checker) checkNetworkPolicy(o object, np *networkingv1.NetworkPolicy) {
	ws := c.selected(o, &np.Spec.PodSelector, "spec.podSelector")
	for _, rule := range np.Spec.Ingress {
		for _, p := range rule.Ports {
			if p.Port == nil {
				continue
			}
			for _, w := range ws {
				if !declaresPort(&w.template.Spec, *p.Port) {
					c.errorf(o, "ingress port %s is declared by no container of %s", p.Port.String(), w)
				}
			}
		}
	}
}

// shellSyntax checks a shell script's syntax with sh -n, when there is a
// sh to ask.
func shellSyntax(script string) error {
	sh, err := exec.LookPath("sh")
	if err != nil {
		return nil
	}
	cmd := exec.Command(sh, "-n")
	cmd.Stdin = strings.NewReader(script)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("sh -n: %v: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
