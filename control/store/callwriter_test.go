package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func testWriterConfig() CallWriterConfig {
	c := DefaultCallWriterConfig()
	c.RetryInterval = time.Millisecond
	return c
}

func TestCallWriterSavesEveryRecord(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	cfg := testWriterConfig()
	cfg.QueueSize, cfg.MaxBatch = 64, 16 // small, so that producers wait
	w, err := NewCallWriter(s, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	acct := NewSID("AC")
	const producers, callsEach = 8, 50
	var wg sync.WaitGroup
	final := make([][]Call, producers)
	for p := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range callsEach {
				c := newCall(acct, CallRinging, t0)
				c.SIPCallID = fmt.Sprintf("%d-%d", p, i)
				for _, st := range []string{CallRinging, CallInProgress, CallCompleted} {
					c.Status = st
					if err := w.Save(ctx, c); err != nil {
						t.Error(err)
						return
					}
				}
				final[p] = append(final[p], c)
			}
		}()
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	st := w.Stats()
	if st.Saved+st.Coalesced != producers*callsEach*3 {
		t.Errorf("saved %d + coalesced %d != %d records", st.Saved, st.Coalesced, producers*callsEach*3)
	}
	if st.Batches == 0 || st.Queued != 0 || st.Lost != 0 {
		t.Errorf("stats = %+v", st)
	}
	for _, calls := range final {
		for _, c := range calls {
			got, err := s.Call(ctx, c.SID)
			if err != nil || got.Status != CallCompleted || got.SIPCallID != c.SIPCallID {
				t.Fatalf("call %s = %+v, %v", c.SID, got, err)
			}
		}
	}
	if err := w.Save(ctx, newCall(acct, CallQueued, t0)); !errors.Is(err, ErrClosed) {
		t.Errorf("Save after Close = %v", err)
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
}

// gatedSaver holds every batch until released: the store being slow.
type gatedSaver struct {
	inner CallSaver
	gate  chan struct{}
	calls atomic.Int32
}

func (g *gatedSaver) SaveCalls(ctx context.Context, calls []Call) error {
	g.calls.Add(1)
	<-g.gate
	return g.inner.SaveCalls(ctx, calls)
}

func TestCallWriterFullQueueWaitsInsteadOfDropping(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	g := &gatedSaver{inner: s, gate: make(chan struct{})}
	cfg := testWriterConfig()
	cfg.QueueSize, cfg.MaxBatch = 1, 1
	w, err := NewCallWriter(g, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	acct := NewSID("AC")
	first, second, third := newCall(acct, CallCompleted, t0), newCall(acct, CallCompleted, t0), newCall(acct, CallCompleted, t0)
	if err := w.Save(ctx, first); err != nil { // taken by the writer, which blocks in SaveCalls
		t.Fatal(err)
	}
	for g.calls.Load() == 0 {
		time.Sleep(time.Millisecond) // wait for the writer to take it; not a timing assertion
	}
	if err := w.Save(ctx, second); err != nil { // fills the queue
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	err = w.Save(short, third)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Save on a full queue = %v, want it to wait until its context ends", err)
	}
	done := make(chan error, 1)
	go func() { done <- w.Save(ctx, third) }()
	close(g.gate)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if w.Stats().Waits < 1 { // the refused Save waited; the last one may or may not have
		t.Errorf("waits = %d, want ≥ 1", w.Stats().Waits)
	}
	for _, c := range []Call{first, second, third} {
		if _, err := s.Call(ctx, c.SID); err != nil {
			t.Errorf("call %s not saved: %v", c.SID, err)
		}
	}
}

// flakySaver fails its first n batches: a fault (disk full, I/O error) that
// cannot be caused on demand with a real SQLite file.
type flakySaver struct {
	inner CallSaver
	fails atomic.Int32
}

func (f *flakySaver) SaveCalls(ctx context.Context, calls []Call) error {
	if f.fails.Add(-1) >= 0 {
		return errors.New("disk I/O error")
	}
	return f.inner.SaveCalls(ctx, calls)
}

func TestCallWriterRetriesFailedBatches(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	f := &flakySaver{inner: s}
	f.fails.Store(3)
	w, err := NewCallWriter(f, testWriterConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	c := newCall(NewSID("AC"), CallCompleted, t0)
	if err := w.Save(ctx, c); err != nil {
		t.Fatal(err)
	}
	// The writer retries on its own while open; Close is not what saves it.
	for i := 0; w.Stats().Saved == 0; i++ {
		if i > 10000 {
			t.Fatal("record never saved")
		}
		time.Sleep(time.Millisecond)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close = %v", err)
	}
	if st := w.Stats(); st.Failures != 3 || st.Saved != 1 || st.Lost != 0 {
		t.Errorf("stats = %+v", st)
	}
	if _, err := s.Call(ctx, c.SID); err != nil {
		t.Errorf("record not saved after retries: %v", err)
	}
}

func TestCallWriterCloseReportsRecordsItCouldNotSave(t *testing.T) {
	s, _ := openTest(t)
	f := &flakySaver{inner: s}
	f.fails.Store(1 << 30)
	w, err := NewCallWriter(f, testWriterConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Save(context.Background(), newCall(NewSID("AC"), CallCompleted, t0)); err != nil {
		t.Fatal(err)
	}
	err = w.Close()
	if err == nil || w.Stats().Lost != 1 {
		t.Fatalf("Close = %v, lost %d; want an error naming 1 record", err, w.Stats().Lost)
	}
}

func TestCallWriterConfigValidate(t *testing.T) {
	bad := []CallWriterConfig{
		{QueueSize: 0, MaxBatch: 1, RetryInterval: time.Second, CloseAttempts: 1},
		{QueueSize: 1, MaxBatch: 0, RetryInterval: time.Second, CloseAttempts: 1},
		{QueueSize: 1, MaxBatch: 1, RetryInterval: 0, CloseAttempts: 1},
		{QueueSize: 1, MaxBatch: 1, RetryInterval: time.Second, CloseAttempts: 0},
	}
	for i, c := range bad {
		if c.Validate() == nil {
			t.Errorf("case %d: %+v accepted", i, c)
		}
	}
	if err := DefaultCallWriterConfig().Validate(); err != nil {
		t.Error(err)
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Error(err)
	}
}

// BenchmarkCallWriter pushes call records through the batching writer into
// a real SQLite file: each simulated leg is saved three times (start,
// answered, ended) as the call path does. Reports records/s.
func BenchmarkCallWriter(b *testing.B) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(b.TempDir(), "bench.db"), DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	w, err := NewCallWriter(s, DefaultCallWriterConfig(), nil)
	if err != nil {
		b.Fatal(err)
	}
	acct := NewSID("AC")
	legs := make([]Call, b.N/3+1)
	for i := range legs {
		legs[i] = newCall(acct, CallRinging, t0)
	}
	statuses := [3]string{CallRinging, CallInProgress, CallCompleted}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		c := legs[i/3]
		c.Status = statuses[i%3]
		if err := w.Save(ctx, c); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "records/s")
}

// BenchmarkSaveCalls measures one 512-record transaction of distinct calls.
func BenchmarkSaveCalls(b *testing.B) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(b.TempDir(), "bench.db"), DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	acct := NewSID("AC")
	batch := make([]Call, 512)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		for i := range batch {
			batch[i] = newCall(acct, CallCompleted, t0)
		}
		b.StartTimer()
		if err := s.SaveCalls(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "records/s")
}
