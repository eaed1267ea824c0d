package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// decodeStrict decodes YAML into out (which already holds the defaults), with
// three guarantees the plain decoder does not give:
//   - an unknown key fails with its full dotted path ("media.workerz");
//   - a bad value fails with the path of the key it belongs to;
//   - ${NAME} in a scalar is replaced by the environment variable NAME, so
//     secrets (auth tokens, trunk passwords) stay out of the file. An unset
//     variable is an error that names the key.
func decodeStrict(data []byte, out any, lookupEnv func(string) (string, bool)) error {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return fmt.Errorf("parse YAML: %w", err)
	}
	if root.Kind == 0 || len(root.Content) == 0 {
		return nil // empty file: defaults
	}
	doc := root.Content[0]
	if doc.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: the configuration must be a mapping of sections", doc.Line)
	}
	w := &walker{lines: map[int]string{}, lookupEnv: lookupEnv}
	w.walk(doc, reflect.TypeOf(out).Elem(), "")
	if len(w.errs) > 0 {
		return errors.Join(w.errs...)
	}
	if err := doc.Decode(out); err != nil {
		return w.annotate(err)
	}
	return nil
}

type walker struct {
	lines     map[int]string // line → dotted key path, to annotate decode errors
	errs      []error
	lookupEnv func(string) (string, bool)
}

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

func (w *walker) walk(n *yaml.Node, t reflect.Type, path string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	switch n.Kind {
	case yaml.ScalarNode:
		w.expandEnv(n, path)
		return
	case yaml.MappingNode:
		switch t.Kind() {
		case reflect.Struct:
			fields := yamlFields(t)
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				p := joinPath(path, k.Value)
				w.lines[k.Line] = p
				if v.Line != k.Line {
					w.lines[v.Line] = p
				}
				f, ok := fields[k.Value]
				if !ok {
					w.errs = append(w.errs, fmt.Errorf("%s: unknown key (line %d)%s", p, k.Line, suggest(k.Value, fields)))
					continue
				}
				w.walk(v, f.Type, p)
			}
		case reflect.Map:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				p := joinPath(path, k.Value)
				w.lines[k.Line] = p
				w.walk(v, t.Elem(), p)
			}
		}
		// Any other target kind: the decoder reports the type mismatch.
	case yaml.SequenceNode:
		if t.Kind() == reflect.Slice || t.Kind() == reflect.Array {
			for i, c := range n.Content {
				p := fmt.Sprintf("%s[%d]", path, i)
				if _, seen := w.lines[c.Line]; !seen {
					w.lines[c.Line] = p
				}
				w.walk(c, t.Elem(), p)
			}
		}
	}
}

func (w *walker) expandEnv(n *yaml.Node, path string) {
	if !strings.Contains(n.Value, "${") {
		return
	}
	n.Value = envRef.ReplaceAllStringFunc(n.Value, func(ref string) string {
		name := ref[2 : len(ref)-1]
		v, ok := w.lookupEnv(name)
		if !ok {
			w.errs = append(w.errs, fmt.Errorf("%s: environment variable %s is not set (line %d)", path, name, n.Line))
		}
		return v
	})
	// A value that came from the environment is a string, whatever it
	// looks like: keep a password such as "123" from becoming an int.
	if n.Tag == "" || n.Tag == "!!int" || n.Tag == "!!float" || n.Tag == "!!bool" || n.Tag == "!!null" {
		n.Tag = "!!str"
	}
}

var lineRef = regexp.MustCompile(`^line (\d+): `)

// annotate rewrites yaml.v3's "line N: cannot unmarshal …" into messages that
// name the key.
func (w *walker) annotate(err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return err
	}
	var errs []error
	for _, msg := range te.Errors {
		if m := lineRef.FindStringSubmatch(msg); m != nil {
			line, _ := strconv.Atoi(m[1])
			if p, ok := w.lines[line]; ok {
				errs = append(errs, fmt.Errorf("%s: %s (line %d)", p, strings.TrimPrefix(msg, m[0]), line))
				continue
			}
		}
		errs = append(errs, errors.New(msg))
	}
	return errors.Join(errs...)
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// yamlFields maps the YAML keys of a struct type to their fields.
func yamlFields(t reflect.Type) map[string]reflect.StructField {
	out := map[string]reflect.StructField{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if strings.Contains(opts, "inline") {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			for k, v := range yamlFields(ft) {
				out[k] = v
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = f
	}
	return out
}

func suggest(key string, fields map[string]reflect.StructField) string {
	names := make([]string, 0, len(fields))
	for k := range fields {
		names = append(names, k)
	}
	sort.Strings(names)
	best, bestDist := "", 3 // suggest only close misspellings
	for _, n := range names {
		if d := editDistance(strings.ToLower(key), n); d < bestDist {
			best, bestDist = n, d
		}
	}
	if best != "" {
		return fmt.Sprintf("; did you mean %q?", best)
	}
	return fmt.Sprintf("; known keys: %s", strings.Join(names, ", "))
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// readConfigFile reads path, refusing files that are obviously not YAML
// configuration (too large).
func readConfigFile(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	if len(data) > 4<<20 {
		return nil, fmt.Errorf("read config %s: file is larger than 4 MiB", path)
	}
	return bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")), nil
}
