package sipptest

import (
	"context"
	"net"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

func abs(p string) string { a, _ := filepath.Abs(p); return a }

// TestUACCallsUAS runs two SIPps against each other and reads their
// statistics.
func TestUACCallsUAS(t *testing.T) {
	for _, tp := range []string{"udp", "tcp"} {
		t.Run(tp, func(t *testing.T) {
			uas, err := Start(context.Background(), Config{Scenario: abs("testdata/uas.xml"), Transport: tp, Calls: 3, Dir: t.TempDir(), Timeout: 20 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			uac, err := Start(context.Background(), Config{Scenario: abs("testdata/uac.xml"), Transport: tp, Remote: uas.Addr().String(), Calls: 3, Rate: 10, Dir: t.TempDir(), Timeout: 20 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			for name, p := range map[string]*Process{"uac": uac, "uas": uas} {
				res, err := p.Wait()
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if !res.OK() || res.Successful != 3 || res.Stats["SuccessfulCall(C)"] != "3" {
					t.Fatalf("%s: %v", name, res)
				}
			}
		})
	}
}

// TestFailedRunIsReported: a UAC whose peer never answers fails, and Result
// says so.
func TestFailedRunIsReported(t *testing.T) {
	port, err := FreePort("udp", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	uac, err := Start(context.Background(), Config{Scenario: abs("testdata/uac.xml"), Remote: "127.0.0.1:" + strconv.Itoa(port), Calls: 1, Dir: t.TempDir(), Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	res, _ := uac.Wait()
	if res.OK() || res.ExitCode == 0 {
		t.Fatalf("a call to nowhere succeeded: %v", res)
	}
}

// TestStopEndsAnIdleUAS: Stop ends a UAS that was never called.
func TestStopEndsAnIdleUAS(t *testing.T) {
	uas, err := Start(context.Background(), Config{Scenario: abs("testdata/uas.xml"), Dir: t.TempDir(), Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("udp", uas.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	start := time.Now()
	uas.Stop()
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Stop took %v", d)
	}
	_, _ = uas.Wait()
	if uas.cmd.ProcessState == nil || !uas.cmd.ProcessState.Exited() && uas.cmd.ProcessState.ExitCode() == 0 {
		t.Fatalf("sipp still running after Stop: %v", uas.cmd.ProcessState)
	}
}
