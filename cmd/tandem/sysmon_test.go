package main

import (
	"bytes"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
)

func TestSteadySysmonEnv(t *testing.T) {
	cases := []struct {
		name    string
		environ []string
		want    []string // nil: no re-execution
	}{
		{"no GODEBUG", []string{"PATH=/bin"}, []string{"PATH=/bin", "GODEBUG=" + steadySysmonSetting}},
		{"empty GODEBUG", []string{"GODEBUG=", "PATH=/bin"}, []string{"GODEBUG=" + steadySysmonSetting, "PATH=/bin"}},
		{"other settings kept", []string{"GODEBUG=gctrace=1,madvdontneed=1"}, []string{"GODEBUG=gctrace=1,madvdontneed=1," + steadySysmonSetting}},
		{"operator's schedtrace", []string{"GODEBUG=gctrace=1,schedtrace=1000"}, nil},
		{"schedtrace 0 turns it off", []string{"GODEBUG=schedtrace=0"}, nil},
		{"already re-executed", []string{"GODEBUG=gctrace=1, " + steadySysmonSetting}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := slices.Clone(c.environ)
			got, ok := steadySysmonEnv(c.environ)
			if ok != (c.want != nil) || !slices.Equal(got, c.want) {
				t.Errorf("steadySysmonEnv(%q) = %q, %v; want %q", c.environ, got, ok, c.want)
			}
			if !slices.Equal(c.environ, before) {
				t.Errorf("the input was modified: %q", c.environ)
			}
		})
	}
}

// TestSteadySysmonReexecFailure checks that a failed re-execution is
// reported and the command goes on.
func TestSteadySysmonReexecFailure(t *testing.T) {
	var errb bytes.Buffer
	calls := 0
	e := env{stderr: &errb, environ: func() []string { return []string{"PATH=/bin"} }, reexec: func(environ []string) error {
		calls++
		if !slices.Contains(environ, "GODEBUG="+steadySysmonSetting) {
			t.Errorf("re-executed with %q", environ)
		}
		return fmt.Errorf("exec: no such file")
	}}
	cfg := DefaultConfig()
	applySteadySysmon(cfg, e, "tandem")
	if calls != 1 || !strings.Contains(errb.String(), "going on without it: exec: no such file") {
		t.Errorf("calls %d, stderr %q", calls, errb.String())
	}
	cfg.Runtime.SteadySysmon = false
	applySteadySysmon(cfg, e, "tandem")
	if calls != 1 {
		t.Errorf("re-executed with runtime.steady_sysmon false")
	}
}

// TestSteadySysmonReexec runs the real binary and reads the environment
// the running process ended up with: re-executed in place (same PID) with
// the setting added, an operator's own schedtrace kept, nothing added when
// runtime.steady_sysmon is false.
func TestSteadySysmonReexec(t *testing.T) {
	cases := []struct {
		name, yaml, godebug, want string
	}{
		{"default", "", "gctrace=0", "gctrace=0," + steadySysmonSetting},
		{"operator's schedtrace", "", "schedtrace=0", "schedtrace=0"},
		{"off", "runtime:\n  steady_sysmon: false\n", "gctrace=0", "gctrace=0"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := startDaemon(t, procOptions{extraYAML: c.yaml, env: []string{"GODEBUG=" + c.godebug}})
			raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", p.cmd.Process.Pid))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for kv := range strings.SplitSeq(string(raw), "\x00") {
				if v, ok := strings.CutPrefix(kv, "GODEBUG="); ok {
					got = append(got, v)
				}
			}
			if len(got) != 1 || got[0] != c.want {
				t.Errorf("GODEBUG of the running daemon = %q, want [%q]", got, c.want)
			}
		})
	}
}
