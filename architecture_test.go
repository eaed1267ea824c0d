package tandem_test

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

// allowedImports is the import table of ARCHITECTURE.md ("Layout"): for each
// package (and everything below it) the prefixes of the non-standard-library
// packages it may import in non-test code. Packages of this module that are
// not listed here (cmd/, bench/) may import anything.
var allowedImports = []struct {
	pkg     string
	allowed []string
}{
	{"tandem/twiml", nil},
	{"tandem/rtpengine", []string{"golang.org/x/sys/", "github.com/pion/rtp", "github.com/pion/rtcp"}},
	{"tandem/sipstack", []string{"github.com/emiago/sipgo", "github.com/pion/sdp"}},
	{"tandem/switch/webhook", []string{"github.com/valyala/fasthttp"}},
	{"tandem/switch", []string{"tandem/twiml", "tandem/rtpengine", "tandem/sipstack", "tandem/switch/webhook"}},
	{"tandem/control/store", []string{"modernc.org/sqlite"}},
	{"tandem/control", []string{"tandem/control/store", "tandem/twiml", "github.com/prometheus/client_golang/"}},
}

type listedPackage struct {
	ImportPath string
	Imports    []string
	Deps       []string
	Standard   bool
}

func listPackages(t *testing.T) []listedPackage {
	t.Helper()
	out, err := exec.Command("go", "list", "-json=ImportPath,Imports,Deps,Standard", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []listedPackage
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p listedPackage
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("decode go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) == 0 {
		t.Fatal("go list found no packages")
	}
	return pkgs
}

// rulesFor returns the rule that governs pkg: the longest listed prefix.
func rulesFor(pkg string) (allowed []string, ok bool) {
	best := ""
	for _, r := range allowedImports {
		if (pkg == r.pkg || strings.HasPrefix(pkg, r.pkg+"/")) && len(r.pkg) > len(best) {
			best, allowed, ok = r.pkg, r.allowed, true
		}
	}
	if ok {
		// A package may always import its own subpackages and siblings
		// below the same rule root.
		allowed = append(append([]string(nil), allowed...), best)
	}
	return allowed, ok
}

func isStdlib(path string) bool {
	first := path
	if i := strings.IndexByte(path, '/'); i >= 0 {
		first = path[:i]
	}
	return !strings.Contains(first, ".") && first != "tandem"
}

func permitted(imp string, allowed []string) bool {
	for _, a := range allowed {
		if imp == a || strings.HasPrefix(imp, strings.TrimSuffix(a, "/")+"/") || (strings.HasSuffix(a, "/") && strings.HasPrefix(imp, a)) {
			return true
		}
	}
	return false
}

// TestImportDirection keeps the dependency direction of ARCHITECTURE.md: leaf
// packages stay leaves, sipstack knows nothing of TwiML, control reaches the
// switch only through interfaces it declares.
func TestImportDirection(t *testing.T) {
	pkgs := listPackages(t)
	for _, p := range pkgs {
		allowed, ok := rulesFor(p.ImportPath)
		if !ok {
			continue
		}
		for _, imp := range p.Imports {
			if isStdlib(imp) {
				continue
			}
			if !permitted(imp, allowed) {
				t.Errorf("%s imports %s; ARCHITECTURE.md allows only %v", p.ImportPath, imp, allowed)
			}
		}
		// Module-internal edges are checked transitively, so a leaf cannot
		// reach the switch through a helper package either.
		for _, dep := range p.Deps {
			if strings.HasPrefix(dep, "tandem/") && !permitted(dep, allowed) {
				t.Errorf("%s depends on %s (transitively); not allowed by ARCHITECTURE.md", p.ImportPath, dep)
			}
		}
	}
}

// TestImportRulesCatchViolations makes sure the checker itself can fail.
func TestImportRulesCatchViolations(t *testing.T) {
	cases := []struct {
		pkg, imp string
		ok       bool
	}{
		{"tandem/twiml", "encoding/xml", true},
		{"tandem/twiml", "tandem/sipstack", false},
		{"tandem/rtpengine", "tandem/switch", false},
		{"tandem/rtpengine", "golang.org/x/sys/unix", true},
		{"tandem/rtpengine/ng", "tandem/rtpengine", true},
		{"tandem/sipstack", "tandem/twiml", false},
		{"tandem/switch", "tandem/twiml", true},
		{"tandem/switch", "tandem/control", false},
		{"tandem/switch/webhook", "tandem/switch", false},
		{"tandem/control", "tandem/switch", false},
		{"tandem/control", "tandem/control/store", true},
		{"tandem/control/store", "tandem/control", false},
	}
	for _, c := range cases {
		allowed, ok := rulesFor(c.pkg)
		if !ok {
			t.Fatalf("no rule for %s", c.pkg)
		}
		got := isStdlib(c.imp) || permitted(c.imp, allowed)
		if got != c.ok {
			t.Errorf("%s importing %s: permitted=%v, want %v", c.pkg, c.imp, got, c.ok)
		}
	}
}
