package kubernetes

import (
	"bytes"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// object is one decoded manifest document.
type object struct {
	file string // path below deploy/kubernetes
	doc  int    // the document's number in the file, from 1
	kind string
	meta *metav1.ObjectMeta
	obj  any // *appsv1.Deployment, *corev1.Service, ...
}

func (o object) String() string {
	return fmt.Sprintf("%s#%d %s %s/%s", o.file, o.doc, o.kind, o.meta.Namespace, o.meta.Name)
}

// kinds are the kinds the manifests may use, by "apiVersion kind", each
// with a new empty object of its type. Any other kind is an error.
var kinds = map[string]func() (any, *metav1.ObjectMeta){
	"v1 Namespace": func() (any, *metav1.ObjectMeta) {
		o := new(corev1.Namespace)
		return o, &o.ObjectMeta
	},
	"v1 ServiceAccount": func() (any, *metav1.ObjectMeta) {
		o := new(corev1.ServiceAccount)
		return o, &o.ObjectMeta
	},
	"v1 Service": func() (any, *metav1.ObjectMeta) {
		o := new(corev1.Service)
		return o, &o.ObjectMeta
	},
	"v1 ConfigMap": func() (any, *metav1.ObjectMeta) {
		o := new(corev1.ConfigMap)
		return o, &o.ObjectMeta
	},
	"apps/v1 Deployment": func() (any, *metav1.ObjectMeta) {
		o := new(appsv1.Deployment)
		return o, &o.ObjectMeta
	},
	"apps/v1 StatefulSet": func() (any, *metav1.ObjectMeta) {
		o := new(appsv1.StatefulSet)
		return o, &o.ObjectMeta
	},
	"policy/v1 PodDisruptionBudget": func() (any, *metav1.ObjectMeta) {
		o := new(policyv1.PodDisruptionBudget)
		return o, &o.ObjectMeta
	},
	"networking.k8s.io/v1 NetworkPolicy": func() (any, *metav1.ObjectMeta) {
		o := new(networkingv1.NetworkPolicy)
		return o, &o.ObjectMeta
	},
}

// clusterScoped kinds have no namespace.
var clusterScoped = map[string]bool{"Namespace": true}

// documentSeparator is a line that starts a new YAML document.
var documentSeparator = regexp.MustCompile(`(?m)^---[ \t]*$`)

// decodeAll decodes every *.yaml file of fsys strictly: a field the type
// does not have, or a field given twice, is an error naming the file and
// the document.
func decodeAll(fsys fs.FS) ([]object, error) {
	files, err := fs.Glob(fsys, "*/*.yaml")
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no manifests")
	}
	sort.Strings(files)
	var out []object
	var errs []string
	for _, f := range files {
		data, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, err
		}
		objs, err := decodeFile(f, data)
		if err != nil {
			errs = append(errs, err.Error())
		}
		out = append(out, objs...)
	}
	if len(errs) > 0 {
		return out, fmt.Errorf("%s", strings.Join(errs, "\n"))
	}
	return out, nil
}

// decodeFile decodes the documents of one file.
func decodeFile(file string, data []byte) ([]object, error) {
	var out []object
	var errs []string
	for i, doc := range documentSeparator.Split(string(data), -1) {
		if isEmptyDocument(doc) {
			continue
		}
		o, err := decodeDocument(file, i+1, []byte(doc))
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s#%d: %v", file, i+1, err))
			continue
		}
		out = append(out, o)
	}
	if len(errs) > 0 {
		return out, fmt.Errorf("%s", strings.Join(errs, "\n"))
	}
	return out, nil
}

// isEmptyDocument reports whether a document holds only comments and blank
// lines.
func isEmptyDocument(doc string) bool {
	for _, line := range strings.Split(doc, "\n") {
		line = strings.TrimSpace(line)
		if line != "" && !strings.HasPrefix(line, "#") {
			return false
		}
	}
	return true
}

func decodeDocument(file string, n int, doc []byte) (object, error) {
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(doc, &tm); err != nil {
		return object{}, err
	}
	newObject, ok := kinds[tm.APIVersion+" "+tm.Kind]
	if !ok {
		known := make([]string, 0, len(kinds))
		for k := range kinds {
			known = append(known, k)
		}
		sort.Strings(known)
		return object{}, fmt.Errorf("unknown apiVersion and kind %q (known: %s)", tm.APIVersion+" "+tm.Kind, strings.Join(known, ", "))
	}
	obj, meta := newObject()
	if err := yaml.UnmarshalStrict(bytes.TrimSpace(doc), obj); err != nil {
		return object{}, fmt.Errorf("%s: %w", tm.Kind, err)
	}
	o := object{file: file, doc: n, kind: tm.Kind, meta: meta, obj: obj}
	if meta.Name == "" {
		return o, fmt.Errorf("%s has no metadata.name", tm.Kind)
	}
	if clusterScoped[tm.Kind] != (meta.Namespace == "") {
		return o, fmt.Errorf("%s %s: metadata.namespace %q (a %s is namespaced: %v)", tm.Kind, meta.Name, meta.Namespace, tm.Kind, !clusterScoped[tm.Kind])
	}
	return o, nil
}
