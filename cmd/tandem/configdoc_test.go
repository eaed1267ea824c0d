package main

import (
	"bytes"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// configs/tandem.yaml is generated from DefaultConfig and the doc comments
// of the config structs, so that every option is documented with its real
// default. Regenerate with:
//
//	go test ./cmd/tandem -run TestShippedConfigIsGenerated -update
var update = flag.Bool("update", false, "rewrite configs/tandem.yaml from the code")

const configHeader = `# tandem configuration, generated from the code (go test ./cmd/tandem -run
# TestShippedConfigIsGenerated -update): every key with its default value and
# the documentation of its field. A file may set only the keys it changes.
# Unknown keys and bad values fail at start (and in tandem check-config
# -config FILE) with the key named.
#
# ${NAME} in any value is replaced by the environment variable NAME (for
# secrets such as trunk passwords); an unset variable is an error.
#
# The main account: on the first start with an empty store, tandem creates it
# and prints its AccountSid and AuthToken once, or takes them from the
# environment variables TANDEM_ACCOUNT_SID and TANDEM_AUTH_TOKEN.
`

func TestShippedConfigIsGenerated(t *testing.T) {
	docs := fieldDocs(t)
	var b bytes.Buffer
	b.WriteString(configHeader)
	writeYAML(t, &b, reflect.ValueOf(DefaultConfig()), docs, 0, true)
	const path = "../../configs/tandem.yaml"
	if *update {
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	have, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(have, b.Bytes()) {
		t.Fatalf("configs/tandem.yaml is out of date with the code: run go test ./cmd/tandem -run TestShippedConfigIsGenerated -update")
	}
}

// fieldDocs reads the doc comments of every struct field of the packages
// that make up Config: "pkgpath.Type.Field" → comment.
func fieldDocs(t *testing.T) map[string]string {
	t.Helper()
	pkgs := map[string]bool{}
	var collect func(rt reflect.Type)
	seen := map[reflect.Type]bool{}
	collect = func(rt reflect.Type) {
		for rt.Kind() == reflect.Pointer || rt.Kind() == reflect.Slice || rt.Kind() == reflect.Map {
			rt = rt.Elem()
		}
		if rt.Kind() != reflect.Struct || seen[rt] || rt.PkgPath() == "time" {
			return
		}
		seen[rt] = true
		pkgs[rt.PkgPath()] = true
		for i := 0; i < rt.NumField(); i++ {
			collect(rt.Field(i).Type)
		}
	}
	collect(reflect.TypeOf(Config{}))
	docs := map[string]string{}
	for pkg := range pkgs {
		dir := "."
		if pkg != "main" && pkg != "" {
			out, err := exec.Command("go", "list", "-f", "{{.Dir}}", pkg).Output()
			if err != nil {
				t.Fatalf("go list %s: %v", pkg, err)
			}
			dir = strings.TrimSpace(string(out))
		}
		fset := token.NewFileSet()
		parsed, err := parser.ParseDir(fset, dir, func(fi os.FileInfo) bool { return !strings.HasSuffix(fi.Name(), "_test.go") }, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range parsed {
			for _, f := range p.Files {
				ast.Inspect(f, func(n ast.Node) bool {
					ts, ok := n.(*ast.TypeSpec)
					if !ok {
						return true
					}
					st, ok := ts.Type.(*ast.StructType)
					if !ok {
						return true
					}
					for _, fl := range st.Fields.List {
						text := ""
						if fl.Doc != nil {
							text = fl.Doc.Text()
						}
						if fl.Comment != nil {
							text = strings.TrimSpace(text + " " + fl.Comment.Text())
						}
						for _, name := range fl.Names {
							docs[pkg+"."+ts.Name.Name+"."+name.Name] = strings.TrimSpace(text)
						}
					}
					return true
				})
			}
		}
	}
	return docs
}

func writeComment(b *bytes.Buffer, indent string, text string) {
	if text == "" {
		return
	}
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimRight(line, " ")
		if line == "" {
			b.WriteString(indent + "#\n")
			continue
		}
		b.WriteString(indent + "# " + line + "\n")
	}
}

// writeYAML writes v (a struct) as a commented YAML mapping.
func writeYAML(t *testing.T, b *bytes.Buffer, v reflect.Value, docs map[string]string, depth int, blankLines bool) {
	writeYAMLDocs(t, b, v, docs, depth, blankLines, false)
}

// writeYAMLDocs is writeYAML; noDocs leaves out the comments (the second
// and later items of a list repeat the first one's keys).
func writeYAMLDocs(t *testing.T, b *bytes.Buffer, v reflect.Value, docs map[string]string, depth int, blankLines, noDocs bool) {
	rt := v.Type()
	indent := strings.Repeat("  ", depth)
	for i := 0; i < rt.NumField(); i++ {
		f := rt.Field(i)
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		fv := v.Field(i)
		if strings.Contains(opts, "inline") {
			writeYAMLDocs(t, b, fv, docs, depth, false, noDocs)
			continue
		}
		if blankLines && b.Len() > 0 {
			b.WriteString("\n")
		}
		if !noDocs {
			writeComment(b, indent, docs[rt.PkgPath()+"."+rt.Name()+"."+f.Name])
		}
		writeValue(t, b, name, fv, docs, depth)
	}
}

func writeValue(t *testing.T, b *bytes.Buffer, name string, fv reflect.Value, docs map[string]string, depth int) {
	indent := strings.Repeat("  ", depth)
	switch {
	case fv.Type() == reflect.TypeOf(time.Duration(0)):
		fmt.Fprintf(b, "%s%s: %s\n", indent, name, shortDuration(time.Duration(fv.Int())))
	case fv.Kind() == reflect.Struct:
		fmt.Fprintf(b, "%s%s:\n", indent, name)
		writeYAML(t, b, fv, docs, depth+1, false)
	case fv.Kind() == reflect.Slice && fv.Type().Elem().Kind() == reflect.Struct:
		if fv.Len() == 0 {
			fmt.Fprintf(b, "%s%s: []\n", indent, name)
			return
		}
		fmt.Fprintf(b, "%s%s:\n", indent, name)
		for j := 0; j < fv.Len(); j++ {
			var item bytes.Buffer
			writeYAMLDocs(t, &item, fv.Index(j), docs, depth+2, false, j > 0)
			lines := strings.Split(strings.TrimRight(item.String(), "\n"), "\n")
			// The first key line of the item gets the "- " marker.
			for k, l := range lines {
				if !strings.HasPrefix(strings.TrimSpace(l), "#") {
					lines[k] = indent + "  - " + strings.TrimPrefix(l, indent+"    ")
					break
				}
			}
			b.WriteString(strings.Join(lines, "\n") + "\n")
		}
	default:
		out, err := yaml.Marshal(fv.Interface())
		if err != nil {
			t.Fatal(err)
		}
		s := strings.TrimRight(string(out), "\n")
		if fv.Kind() == reflect.Slice && fv.Len() > 0 {
			// Short scalar lists in flow style.
			parts := make([]string, fv.Len())
			for j := range parts {
				p, _ := yaml.Marshal(fv.Index(j).Interface())
				parts[j] = strings.TrimRight(string(p), "\n")
			}
			s = "[" + strings.Join(parts, ", ") + "]"
		}
		if fv.Kind() == reflect.String && fv.Len() == 0 {
			s = `""`
		}
		fmt.Fprintf(b, "%s%s: %s\n", indent, name, s)
	}
}

// shortDuration writes 60s as "1m", 1.5s as "1.5s", 200µs as "200us".
func shortDuration(d time.Duration) string {
	if d == 0 {
		return "0s"
	}
	s := d.String()
	s = strings.Replace(s, "m0s", "m", 1)
	s = strings.Replace(s, "h0m", "h", 1)
	return strings.Replace(s, "µs", "us", 1)
}
