// Command tandem is the programmable voice switch daemon.
//
//	tandem [-config FILE] [-log-format json|console] [-log-level LEVEL]
//	tandem check-config [-config FILE]
//	tandem media [-config FILE]     the media core alone, driven by the ng protocol
//	tandem version
//
// With no -config it runs on embedded defaults (configs/tandem.yaml lists
// them all): data in ./var, control API on 127.0.0.1:8080, admin listener on
// 127.0.0.1:9090.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	os.Exit(runEnv(os.Args[1:], env{
		stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv, lookupEnv: os.LookupEnv,
		environ: os.Environ, reexec: execSelf,
	}))
}

// env is how the daemon reads its environment (injected for tests).
type env struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	lookupEnv      func(string) (string, bool)
	// environ lists the whole environment and reexec replaces the process
	// with a fresh run of the same binary under environ (returning only on
	// failure); both are nil in tests that call run, which never re-execute.
	environ func() []string
	reexec  func(environ []string) error
}

func run(args []string, stdout, stderr io.Writer, getenv func(string) string, lookupEnv func(string) (string, bool)) int {
	return runEnv(args, env{stdout: stdout, stderr: stderr, getenv: getenv, lookupEnv: lookupEnv})
}

func runEnv(args []string, e env) int {
	cmd := ""
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "":
		return runDaemon(args, e)
	case "check-config":
		return runCheckConfig(args, e)
	case "media":
		return runMediaCommand(args, e)
	case "version":
		fmt.Fprintf(e.stdout, "tandem %s\n", version)
		return 0
	case "help":
		usage(e.stdout)
		return 0
	default:
		fmt.Fprintf(e.stderr, "tandem: unknown command %q\n", cmd)
		usage(e.stderr)
		return 2
	}
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage:
  tandem [-config FILE] [-log-format json|console] [-log-level LEVEL]
  tandem check-config [-config FILE]
  tandem media [-config FILE]
  tandem version
`)
}

type commonFlags struct {
	config    string
	logFormat string
	logLevel  string
}

func parseFlags(name string, args []string, e env) (commonFlags, error) {
	var f commonFlags
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.StringVar(&f.config, "config", "", "YAML configuration file (default: embedded defaults)")
	fs.StringVar(&f.logFormat, "log-format", "", "override log.format: json or console")
	fs.StringVar(&f.logLevel, "log-level", "", "override log.level: debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	if fs.NArg() > 0 {
		return f, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	return f, nil
}

// loadWithFlags loads the configuration and applies the command-line overrides
// before validating.
func loadWithFlags(f commonFlags, e env) (Config, error) {
	cfg, err := LoadConfig(f.config, e.lookupEnv)
	if err != nil && (f.logFormat == "" && f.logLevel == "") {
		return cfg, err
	}
	if f.logFormat != "" {
		cfg.Log.Format = f.logFormat
	}
	if f.logLevel != "" {
		cfg.Log.Level = f.logLevel
	}
	if err := cfg.Validate(); err != nil {
		name := f.config
		if name == "" {
			name = "(defaults)"
		}
		return cfg, fmt.Errorf("config %s: %w", name, err)
	}
	return cfg, nil
}

func runCheckConfig(args []string, e env) int {
	f, err := parseFlags("check-config", args, e)
	if err != nil {
		return 2
	}
	if _, err := loadWithFlags(f, e); err != nil {
		fmt.Fprintf(e.stderr, "tandem: %v\n", err)
		return 1
	}
	name := f.config
	if name == "" {
		name = "embedded defaults"
	}
	fmt.Fprintf(e.stdout, "%s: OK\n", name)
	return 0
}

// signalContext returns a context cancelled by the first SIGTERM (graceful
// drain) and a channel that reports SIGINT or a second signal (stop now).
func signalContext() (ctx context.Context, stopNow <-chan os.Signal, cleanup func()) {
	ctx, cancel := context.WithCancelCause(context.Background())
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	now := make(chan os.Signal, 1)
	done := make(chan struct{})
	go func() {
		drained := false
		for {
			select {
			case <-done:
				return
			case s := <-sigs:
				if s == syscall.SIGINT || drained {
					select {
					case now <- s:
					default:
					}
					cancel(errStopNow)
					continue
				}
				drained = true
				cancel(errDrain)
			}
		}
	}()
	return ctx, now, func() {
		signal.Stop(sigs)
		close(done)
		cancel(nil)
	}
}

var (
	errDrain   = errors.New("SIGTERM: draining")
	errStopNow = errors.New("stop now")
)
