package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "tandem.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func noEnv(string) (string, bool) { return "", false }

// TestShippedConfigIsTheDefaults keeps configs/tandem.yaml honest: it must
// parse strictly and describe exactly the embedded defaults.
func TestShippedConfigIsTheDefaults(t *testing.T) {
	cfg, err := LoadConfig("../../configs/tandem.yaml", noEnv)
	if err != nil {
		t.Fatalf("configs/tandem.yaml: %v", err)
	}
	// Compare as YAML, where an empty list and a nil one are the same.
	got, _ := yaml.Marshal(cfg)
	want, _ := yaml.Marshal(DefaultConfig())
	if string(got) != string(want) {
		t.Errorf("configs/tandem.yaml differs from DefaultConfig:\n file: %s\n code: %s", got, want)
	}
}

func TestConfigErrorsNameTheKey(t *testing.T) {
	cases := []struct {
		name string
		yaml string
		want []string // substrings of the error
	}{
		{"unknown top-level key", "bogus: 1\n", []string{"bogus: unknown key (line 1)"}},
		{"unknown nested key", "log:\n  formatt: json\n", []string{"log.formatt: unknown key (line 2)", `did you mean "format"`}},
		{"bad enum value", "log:\n  format: xml\n", []string{"log.format: must be json or console"}},
		{"bad type", "admin:\n  pprof: maybe\n", []string{"admin.pprof:", "line 2"}},
		{"bad duration", "shutdown:\n  http_timeout: soon\n", []string{"shutdown.http_timeout:"}},
		{"negative duration", "shutdown:\n  drain_timeout: -1s\n", []string{"shutdown.drain_timeout: must not be negative"}},
		{"bad listen address", "admin:\n  listen: nowhere\n", []string{"admin.listen: must be host:port"}},
		{"bad memory limit", "runtime:\n  memory_limit: lots\n", []string{"runtime.memory_limit:"}},
		{"unset secret", "data_dir: ${TANDEM_TEST_UNSET_DIR}\n", []string{"data_dir: environment variable TANDEM_TEST_UNSET_DIR is not set"}},
		{"not a mapping", "- a\n- b\n", []string{"must be a mapping"}},
		{"malformed YAML", "log: [\n", []string{"parse YAML"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := LoadConfig(writeConfig(t, c.yaml), noEnv)
			if err == nil {
				t.Fatal("want an error, got none")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestConfigSecretsFromEnvironment(t *testing.T) {
	env := func(k string) (string, bool) {
		if k == "TANDEM_DIR" {
			return "/srv/tandem", true
		}
		if k == "LEVEL" {
			return "debug", true
		}
		return "", false
	}
	cfg, err := LoadConfig(writeConfig(t, "data_dir: ${TANDEM_DIR}/data\nlog:\n  level: ${LEVEL}\n"), env)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DataDir != "/srv/tandem/data" || cfg.Log.Level != "debug" {
		t.Errorf("expansion: data_dir=%q level=%q", cfg.DataDir, cfg.Log.Level)
	}
}

func TestConfigPartialFileKeepsDefaults(t *testing.T) {
	cfg, err := LoadConfig(writeConfig(t, "log:\n  level: warn\n"), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultConfig()
	want.Log.Level = "warn"
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("got %+v, want %+v", cfg, want)
	}
}

func TestCheckConfigCommand(t *testing.T) {
	var out, errb strings.Builder
	good := writeConfig(t, "log:\n  level: info\n")
	if code := run([]string{"check-config", "-config", good}, &out, &errb, func(string) string { return "" }, noEnv); code != 0 {
		t.Fatalf("check-config good file: exit %d, stderr %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "OK") {
		t.Errorf("check-config output %q", out.String())
	}
	out.Reset()
	errb.Reset()
	bad := writeConfig(t, "log:\n  levle: info\n")
	if code := run([]string{"check-config", "-config", bad}, &out, &errb, func(string) string { return "" }, noEnv); code != 1 {
		t.Fatalf("check-config bad file: exit %d, want 1", code)
	}
	if !strings.Contains(errb.String(), "log.levle: unknown key") {
		t.Errorf("check-config bad file stderr %q", errb.String())
	}
}
