package mocksidecar

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Duration is a time.Duration written as "250ms", "3s".
type Duration time.Duration

// Std returns d as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// A strict YAML decoder, as package config's: unknown and repeated keys
// are errors, and every error names the line and the field path
// ("steps[3].expect.timout: unknown field (known: ...)"). config's decoder
// is not exported, so this is the same strictness for the script's types.

type pathError struct {
	line int
	path string
	msg  string
}

func (e *pathError) Error() string { return fmt.Sprintf("%d: %s: %s", e.line, e.path, e.msg) }

var durationType = reflect.TypeFor[Duration]()

func decodeNode(n *yaml.Node, v reflect.Value, path string) error {
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			return nil
		}
		n = n.Content[0]
	}
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if v.Kind() == reflect.Pointer {
		if n.Kind == yaml.ScalarNode && n.Tag == "!!null" && v.Type().Elem().Kind() != reflect.Struct {
			return nil
		}
		v.Set(reflect.New(v.Type().Elem()))
		return decodeNode(n, v.Elem(), path)
	}
	if v.Type() == durationType {
		s, err := scalar(n, path)
		if err != nil {
			return err
		}
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 {
			return &pathError{n.Line, path, fmt.Sprintf("%q is not a duration (like 250ms, 3s)", s)}
		}
		v.SetInt(int64(d))
		return nil
	}
	switch v.Kind() {
	case reflect.Struct:
		if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
			return nil // "disconnect:" with nothing after it
		}
		if n.Kind != yaml.MappingNode {
			return &pathError{n.Line, path, "expected a mapping of fields"}
		}
		fields := map[string]int{}
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			if tag := strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0]; tag != "" && tag != "-" {
				fields[tag] = i
			}
		}
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			fpath := join(path, k.Value)
			idx, ok := fields[k.Value]
			if !ok {
				names := make([]string, 0, len(fields))
				for f := range fields {
					names = append(names, f)
				}
				sort.Strings(names)
				return &pathError{k.Line, fpath, "unknown field (known: " + strings.Join(names, ", ") + ")"}
			}
			if seen[k.Value] {
				return &pathError{k.Line, fpath, "field given twice"}
			}
			seen[k.Value] = true
			if err := decodeNode(val, v.Field(idx), fpath); err != nil {
				return err
			}
		}
		return nil
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return &pathError{n.Line, path, "expected a list"}
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, item := range n.Content {
			if err := decodeNode(item, s.Index(i), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		v.Set(s)
		return nil
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return &pathError{n.Line, path, "expected a mapping"}
		}
		m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			key := reflect.New(v.Type().Key()).Elem()
			if err := decodeNode(k, key, path); err != nil {
				return err
			}
			if m.MapIndex(key).IsValid() {
				return &pathError{k.Line, join(path, k.Value), "key given twice"}
			}
			elem := reflect.New(v.Type().Elem()).Elem()
			if err := decodeNode(val, elem, join(path, k.Value)); err != nil {
				return err
			}
			m.SetMapIndex(key, elem)
		}
		v.Set(m)
		return nil
	case reflect.String:
		s, err := scalar(n, path)
		v.SetString(s)
		return err
	case reflect.Bool:
		s, err := scalar(n, path)
		if err != nil {
			return err
		}
		b, err := strconv.ParseBool(s)
		if err != nil {
			return &pathError{n.Line, path, fmt.Sprintf("%q is not true or false", s)}
		}
		v.SetBool(b)
		return nil
	case reflect.Int:
		s, err := scalar(n, path)
		if err != nil {
			return err
		}
		i, err := strconv.Atoi(s)
		if err != nil {
			return &pathError{n.Line, path, fmt.Sprintf("%q is not an integer", s)}
		}
		v.SetInt(int64(i))
		return nil
	case reflect.Uint32:
		s, err := scalar(n, path)
		if err != nil {
			return err
		}
		u, err := strconv.ParseUint(s, 10, 32)
		if err != nil {
			return &pathError{n.Line, path, fmt.Sprintf("%q is not a non-negative 32-bit integer", s)}
		}
		v.SetUint(u)
		return nil
	}
	return &pathError{n.Line, path, fmt.Sprintf("field of unsupported type %s", v.Type())}
}

func scalar(n *yaml.Node, path string) (string, error) {
	if n.Kind != yaml.ScalarNode {
		return "", &pathError{n.Line, path, "expected a single value"}
	}
	return n.Value, nil
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}
