package config

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Duration is a time.Duration written as "250ms", "3s", "1m".
type Duration time.Duration

// Std returns d as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// ByteSize is a size written as 4096, "64KiB", "4MiB".
type ByteSize int64

// decoder turns a YAML node tree into Go values strictly: unknown and
// duplicate keys are errors, and every error names the field path and line.
type decoder struct {
	lines map[string]int // field path -> line, for errors found later
	// budget is how many more nodes decode may visit. An alias visits the
	// nodes of its anchor again, so that a small document whose aliases
	// nest could otherwise expand to millions (a "billion laughs").
	budget int
}

// nodeBudget bounds the nodes decoded from a document of size bytes: far
// more than a document without aliases has, whose nodes take a byte or
// more each.
func nodeBudget(size int) int { return 10000 + 4*size }

type pathError struct {
	path string
	line int
	msg  string
}

func (e *pathError) Error() string { return fmt.Sprintf("%d: %s: %s", e.line, e.path, e.msg) }

// defaulter is implemented by config types whose zero value is not the default.
type defaulter interface{ setDefaults() }

var (
	durationType = reflect.TypeFor[Duration]()
	byteSizeType = reflect.TypeFor[ByteSize]()
)

func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) error {
	if d.budget--; d.budget < 0 {
		return &pathError{path, n.Line, "the document's aliases expand it past what its size allows"}
	}
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			return nil
		}
		n = n.Content[0]
	}
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	d.lines[path] = n.Line
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		if dv, ok := v.Interface().(defaulter); ok {
			dv.setDefaults()
		}
		return d.decode(n, v.Elem(), path)
	}
	switch v.Type() {
	case durationType:
		s, err := d.scalar(n, path)
		if err != nil {
			return err
		}
		dur, err := time.ParseDuration(s)
		if err != nil || dur < 0 {
			return &pathError{path, n.Line, fmt.Sprintf("%q is not a duration (like 250ms, 3s)", s)}
		}
		v.SetInt(int64(dur))
		return nil
	case byteSizeType:
		s, err := d.scalar(n, path)
		if err != nil {
			return err
		}
		size, err := parseByteSize(s)
		if err != nil {
			return &pathError{path, n.Line, err.Error()}
		}
		v.SetInt(size)
		return nil
	}
	switch v.Kind() {
	case reflect.Struct:
		return d.decodeStruct(n, v, path)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return &pathError{path, n.Line, "expected a list"}
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, item := range n.Content {
			elem := s.Index(i)
			if dv, ok := elem.Addr().Interface().(defaulter); ok {
				dv.setDefaults()
			}
			if err := d.decode(item, elem, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		v.Set(s)
		return nil
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return &pathError{path, n.Line, "expected a mapping"}
		}
		m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
		for i := 0; i < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			key := reflect.New(v.Type().Key()).Elem()
			if err := d.decode(k, key, path); err != nil {
				return err
			}
			if m.MapIndex(key).IsValid() {
				return &pathError{path + "." + k.Value, k.Line, "key given twice"}
			}
			elem := reflect.New(v.Type().Elem()).Elem()
			if err := d.decode(val, elem, path+"."+k.Value); err != nil {
				return err
			}
			m.SetMapIndex(key, elem)
		}
		v.Set(m)
		return nil
	case reflect.String:
		s, err := d.scalar(n, path)
		v.SetString(s)
		return err
	case reflect.Bool:
		s, err := d.scalar(n, path)
		if err != nil {
			return err
		}
		b, err := strconv.ParseBool(s)
		if err != nil {
			return &pathError{path, n.Line, fmt.Sprintf("%q is not true or false", s)}
		}
		v.SetBool(b)
		return nil
	case reflect.Int, reflect.Int32, reflect.Int64:
		s, err := d.scalar(n, path)
		if err != nil {
			return err
		}
		i, err := strconv.ParseInt(s, 0, v.Type().Bits())
		if err != nil {
			return &pathError{path, n.Line, fmt.Sprintf("%q is not an integer that fits in %d bits", s, v.Type().Bits())}
		}
		v.SetInt(i)
		return nil
	case reflect.Uint32:
		s, err := d.scalar(n, path)
		if err != nil {
			return err
		}
		u, err := strconv.ParseUint(s, 0, 32)
		if err != nil {
			return &pathError{path, n.Line, fmt.Sprintf("%q is not a non-negative 32-bit integer", s)}
		}
		v.SetUint(u)
		return nil
	case reflect.Float64:
		s, err := d.scalar(n, path)
		if err != nil {
			return err
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return &pathError{path, n.Line, fmt.Sprintf("%q is not a number", s)}
		}
		v.SetFloat(f)
		return nil
	}
	return &pathError{path, n.Line, fmt.Sprintf("config field of unsupported type %s", v.Type())}
}

func (d *decoder) scalar(n *yaml.Node, path string) (string, error) {
	if n.Kind != yaml.ScalarNode {
		return "", &pathError{path, n.Line, "expected a single value"}
	}
	return n.Value, nil
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) error {
	if n.Kind != yaml.MappingNode {
		if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
			return nil
		}
		return &pathError{path, n.Line, "expected a mapping of fields"}
	}
	fields := map[string]int{}
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		if tag := strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0]; tag != "" && tag != "-" {
			fields[tag] = i
		}
	}
	seen := map[string]bool{}
	for i := 0; i < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		fpath := k.Value
		if path != "" {
			fpath = path + "." + k.Value
		}
		idx, ok := fields[k.Value]
		if !ok {
			return &pathError{fpath, k.Line, "unknown field (known: " + strings.Join(sortedKeys(fields), ", ") + ")"}
		}
		if seen[k.Value] {
			return &pathError{fpath, k.Line, "field given twice"}
		}
		seen[k.Value] = true
		if err := d.decode(val, v.Field(idx), fpath); err != nil {
			return err
		}
	}
	return nil
}

func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func parseByteSize(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}, {"", 1}}
	for _, u := range units {
		if num, ok := strings.CutSuffix(s, u.suffix); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(num), 10, 64)
			if err != nil || n < 0 || n > (1<<62)/u.mult {
				break
			}
			return n * u.mult, nil
		}
	}
	return 0, fmt.Errorf("%q is not a size (like 4096, 64KiB, 4MiB)", s)
}
