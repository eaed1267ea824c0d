package main

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"syscall"
)

// steadySysmonSetting is the GODEBUG field behind runtime.steady_sysmon.
// With schedtrace above zero the runtime never puts sysmon into its deep
// sleep (proc.go, sysmon); the period, 2^31-1 ms (24.8 days), is the
// largest the runtime accepts, so the summary it prints is next to never.
const steadySysmonSetting = "schedtrace=2147483647"

// steadySysmonEnv returns environ with steadySysmonSetting added to
// GODEBUG, or ok false when GODEBUG already sets schedtrace: the operator
// chose a value, or this process is the re-executed one.
func steadySysmonEnv(environ []string) (out []string, ok bool) {
	for i, kv := range environ {
		v, found := strings.CutPrefix(kv, "GODEBUG=")
		if !found {
			continue
		}
		for f := range strings.SplitSeq(v, ",") {
			if strings.HasPrefix(strings.TrimSpace(f), "schedtrace=") {
				return nil, false
			}
		}
		out = slices.Clone(environ)
		if strings.TrimSpace(v) == "" {
			out[i] = "GODEBUG=" + steadySysmonSetting
		} else {
			out[i] = kv + "," + steadySysmonSetting
		}
		return out, true
	}
	return append(slices.Clone(environ), "GODEBUG="+steadySysmonSetting), true
}

// applySteadySysmon re-executes the process with steadySysmonSetting when
// the configuration asks for it and GODEBUG does not have it yet. It
// returns only if no re-execution was needed or it failed; a failure is
// reported and the daemon goes on with the runtime's default sysmon.
func applySteadySysmon(cfg Config, e env, name string) {
	if !cfg.Runtime.SteadySysmon || e.reexec == nil || e.environ == nil {
		return
	}
	environ, ok := steadySysmonEnv(e.environ())
	if !ok {
		return
	}
	err := e.reexec(environ)
	fmt.Fprintf(e.stderr, "%s: runtime.steady_sysmon: re-executing with GODEBUG=%s failed, going on without it: %v\n", name, steadySysmonSetting, err)
}

// execSelf replaces the process with a fresh run of its own binary
// (/proc/self/exe: the same file even if a package upgrade has replaced it
// on disk since) with the same arguments and the given environment.
func execSelf(environ []string) error {
	if err := syscall.Exec("/proc/self/exe", os.Args, environ); err != nil {
		return fmt.Errorf("exec /proc/self/exe: %w", err)
	}
	return nil
}
