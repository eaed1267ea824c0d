package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
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
func BenchmarkCallWriter(b *testing.B) { benchCallWriter(b, false) }

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

// batchLog is a RecordSaver over the real store that records what each
// transaction carried and can hold batches until released (the store being
// slow).
type batchLog struct {
	inner *SQLite
	gate  chan struct{} // nil: never held
	mu    sync.Mutex
	txs   [][2]int // call records, notifications per transaction
	calls atomic.Int32
}

func (b *batchLog) SaveCalls(ctx context.Context, calls []Call) error {
	return b.SaveRecords(ctx, calls, nil)
}

func (b *batchLog) SaveRecords(ctx context.Context, calls []Call, notes []Notification) error {
	b.calls.Add(1)
	if b.gate != nil {
		<-b.gate
	}
	if err := b.inner.SaveRecords(ctx, calls, notes); err != nil {
		return err
	}
	b.mu.Lock()
	b.txs = append(b.txs, [2]int{len(calls), len(notes)})
	b.mu.Unlock()
	return nil
}

func (b *batchLog) transactions() [][2]int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.txs)
}

// callBatches is the number of call records in each transaction.
func (b *batchLog) callBatches() []int {
	var n []int
	for _, tx := range b.transactions() {
		n = append(n, tx[0])
	}
	return n
}

func TestCallWriterWritesCallsAndNotificationsInOneTransaction(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	b := &batchLog{inner: s, gate: make(chan struct{})}
	w, err := NewCallWriter(b, testWriterConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	acct := NewSID("AC")
	first := newCall(acct, CallRinging, t0)
	if err := w.Save(ctx, first); err != nil { // taken by the writer, which waits at the gate
		t.Fatal(err)
	}
	for b.calls.Load() == 0 {
		time.Sleep(time.Millisecond) // wait for the writer to take it; not a timing assertion
	}
	// While the store is busy, a call's status changes and its warnings queue
	// up: they must reach the store together.
	call := newCall(acct, CallInProgress, t0)
	warn := newNote(acct, call.SID, NotificationWarning, 12200, t0)
	warn.SID = NewSID("NO")
	fail := newNote(acct, call.SID, NotificationError, 11200, t0)
	fail.SID = NewSID("NO")
	if err := w.Save(ctx, call); err != nil {
		t.Fatal(err)
	}
	for _, n := range []Notification{warn, fail} {
		if err := w.SaveNotification(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	if st := w.Stats(); st.Queued != 1 || st.NotificationsQueued != 2 {
		t.Errorf("queued while the store is busy = %+v", st)
	}
	close(b.gate)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got, want := b.transactions(), [][2]int{{1, 0}, {1, 2}}; !slices.Equal(got, want) {
		t.Errorf("transactions (calls, notifications) = %v, want %v", got, want)
	}
	if st := w.Stats(); st.Batches != 2 || st.Saved != 2 || st.NotificationsSaved != 2 || st.NotificationsQueued != 0 || st.NotificationsLost != 0 {
		t.Errorf("stats = %+v", st)
	}
	ns, err := s.ListNotifications(ctx, NotificationFilter{AccountSID: acct, CallSID: call.SID}, Page{Size: 10})
	if err != nil || len(ns) != 2 || ns[0].SID != fail.SID || ns[1].SID != warn.SID {
		t.Fatalf("call's notifications = %+v, %v", ns, err)
	}
}

func TestCallWriterNeverDropsNotifications(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	b := &batchLog{inner: s, gate: make(chan struct{})}
	cfg := testWriterConfig()
	cfg.QueueSize, cfg.MaxBatch = 1, 1
	w, err := NewCallWriter(b, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	acct := NewSID("AC")
	note := func() Notification {
		n := newNote(acct, NewSID("CA"), NotificationWarning, 12200, t0)
		n.SID = NewSID("NO")
		return n
	}
	first, second, third := note(), note(), note()
	if err := w.SaveNotification(ctx, first); err != nil { // taken by the writer, held at the gate
		t.Fatal(err)
	}
	for b.calls.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	if err := w.SaveNotification(ctx, second); err != nil { // fills the queue
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	err = w.SaveNotification(short, third)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("SaveNotification on a full queue = %v, want it to wait until its context ends", err)
	}
	// Many producers against a one-slot queue: every one waits its turn.
	const producers, each = 8, 25
	var wg sync.WaitGroup
	var sent sync.Map
	for range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				n := note()
				if err := w.SaveNotification(ctx, n); err != nil {
					t.Error(err)
					return
				}
				sent.Store(n.SID, true)
			}
		}()
	}
	close(b.gate)
	if err := w.SaveNotification(ctx, third); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	total := 3 + producers*each
	st := w.Stats()
	if st.NotificationsSaved != uint64(total) || st.NotificationsLost != 0 || st.Waits < 1 {
		t.Errorf("stats = %+v, want %d saved, none lost, waits ≥ 1", st, total)
	}
	var rows int
	if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM notifications WHERE account_sid = ?`, acct).Scan(&rows); err != nil || rows != total {
		t.Errorf("rows = %d, %v; want %d", rows, err, total)
	}
	sent.Range(func(k, _ any) bool {
		if _, err := s.Notification(ctx, k.(string)); err != nil {
			t.Errorf("notification %s not saved: %v", k, err)
			return false
		}
		return true
	})
}

func TestCallWriterRefusesNotificationsItCannotStore(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	w, err := NewCallWriter(s, testWriterConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	bad := newNote(NewSID("AC"), "", 2, 12200, t0) // log level 2
	if err := w.SaveNotification(ctx, bad); !errors.Is(err, ErrInvalid) {
		t.Errorf("invalid notification = %v, want ErrInvalid", err)
	}
	good := newNote(NewSID("AC"), "", NotificationError, 21220, t0) // SID filled by the writer
	if err := w.SaveNotification(ctx, good); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if st := w.Stats(); st.NotificationsSaved != 1 || st.Failures != 0 {
		t.Errorf("stats = %+v: the invalid notification reached the store", st)
	}
	if ns, err := s.ListNotifications(ctx, NotificationFilter{AccountSID: good.AccountSID}, Page{Size: 5}); err != nil || len(ns) != 1 || !ValidSID("NO", ns[0].SID) {
		t.Errorf("saved = %+v, %v", ns, err)
	}
	if err := w.SaveNotification(ctx, good); !errors.Is(err, ErrClosed) {
		t.Errorf("SaveNotification after Close = %v", err)
	}

	// A saver that only writes calls (no SaveRecords) cannot take them.
	calls, err := NewCallWriter(&flakySaver{inner: s}, testWriterConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer calls.Close()
	if err := calls.SaveNotification(ctx, good); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("SaveNotification without a RecordSaver = %v", err)
	}
}

// failingRecords fails every batch: a store gone for good at shutdown.
type failingRecords struct{}

func (failingRecords) SaveCalls(context.Context, []Call) error { return errors.New("disk I/O error") }
func (failingRecords) SaveRecords(context.Context, []Call, []Notification) error {
	return errors.New("disk I/O error")
}

func TestCallWriterCloseReportsNotificationsItCouldNotSave(t *testing.T) {
	w, err := NewCallWriter(failingRecords{}, testWriterConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	n := newNote(NewSID("AC"), "", NotificationWarning, 12200, t0)
	if err := w.SaveNotification(context.Background(), n); err != nil {
		t.Fatal(err)
	}
	err = w.Close()
	if err == nil || !strings.Contains(err.Error(), "1 notifications") || w.Stats().NotificationsLost != 1 {
		t.Fatalf("Close = %v, lost %d; want an error naming 1 notification", err, w.Stats().NotificationsLost)
	}
}

// BenchmarkCallWriterWithNotifications is BenchmarkCallWriter with a
// schema warning recorded on every leg (the 12200-on-every-call case):
// three call-record saves and one notification per leg. Reports records/s.
func BenchmarkCallWriterWithNotifications(b *testing.B) { benchCallWriter(b, true) }

// benchCallWriter saves each leg's three statuses through a CallWriter and,
// with note, a warning notification for the leg too. Reports records/s.
func benchCallWriter(b *testing.B, note bool) {
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
	perLeg := 3
	if note {
		perLeg = 4
	}
	acct := NewSID("AC")
	legs := make([]Call, b.N/perLeg+1)
	for i := range legs {
		legs[i] = newCall(acct, CallRinging, t0)
	}
	statuses := [3]string{CallRinging, CallInProgress, CallCompleted}
	warn := newNote(acct, "", NotificationWarning, 12200, t0)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		c := legs[i/perLeg]
		if i%perLeg == 3 {
			n := warn
			n.CallSID = c.SID
			if err := w.SaveNotification(ctx, n); err != nil {
				b.Fatal(err)
			}
			continue
		}
		c.Status = statuses[i%perLeg]
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

// TestCallWriterGroupCommit checks max_delay: records saved one after
// another within the delay go out in one transaction, with a call's status
// changes coalesced into its newest record; a record is written once the
// delay has passed, without Close; and Close does not wait out a long delay.
func TestCallWriterGroupCommit(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	acct := NewSID("AC")

	t.Run("batched and coalesced", func(t *testing.T) {
		saver := &batchLog{inner: s}
		cfg := testWriterConfig()
		cfg.MaxDelay = 300 * time.Millisecond
		w, err := NewCallWriter(saver, cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		var calls []Call
		for i := range 5 {
			c := newCall(acct, CallQueued, t0)
			c.SIPCallID = fmt.Sprint(i)
			for _, st := range []string{CallQueued, CallRinging, CallInProgress} {
				c.Status = st
				if err := w.Save(ctx, c); err != nil {
					t.Fatal(err)
				}
			}
			calls = append(calls, c)
		}
		// Written after the delay, with no Close to push it.
		deadline := time.Now().Add(5 * time.Second)
		for w.Stats().Saved < 5 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		if got := saver.callBatches(); !slices.Equal(got, []int{5}) {
			t.Errorf("batches %v, want one batch of 5 calls", got)
		}
		if st := w.Stats(); st.Saved != 5 || st.Coalesced != 10 {
			t.Errorf("stats %+v, want 5 saved and 10 coalesced", st)
		}
		for _, c := range calls {
			if got, err := s.Call(ctx, c.SID); err != nil || got.Status != CallInProgress {
				t.Errorf("call %s: %q %v, want in-progress", c.SID, got.Status, err)
			}
		}
	})

	t.Run("SaveNotify tells when the record can be read", func(t *testing.T) {
		cfg := testWriterConfig()
		cfg.MaxDelay = 50 * time.Millisecond
		w, err := NewCallWriter(s, cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		for i := range 3 {
			c := newCall(acct, CallInProgress, t0)
			if err := w.Save(ctx, c); err != nil {
				t.Fatal(err)
			}
			c.Status = CallCompleted
			stored, err := w.SaveNotify(ctx, c)
			if err != nil {
				t.Fatal(err)
			}
			select {
			case <-stored:
			case <-time.After(10 * time.Second):
				t.Fatalf("call %d: not stored after 10 s", i)
			}
			if got, err := s.Call(ctx, c.SID); err != nil || got.Status != CallCompleted {
				t.Errorf("call %d once stored: %q %v, want completed", i, got.Status, err)
			}
		}
	})

	t.Run("close does not wait out the delay", func(t *testing.T) {
		cfg := testWriterConfig()
		cfg.MaxDelay = time.Hour
		w, err := NewCallWriter(s, cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		c := newCall(acct, CallCompleted, t0)
		if err := w.Save(ctx, c); err != nil {
			t.Fatal(err)
		}
		closed := make(chan error, 1)
		go func() { closed <- w.Close() }()
		select {
		case err := <-closed:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Close still waiting for the batch delay after 10 s")
		}
		if got, err := s.Call(ctx, c.SID); err != nil || got.Status != CallCompleted {
			t.Errorf("record after Close: %q %v", got.Status, err)
		}
	})
}

// BenchmarkCallRecordWorkload writes call records the way the switch does
// under load, on a table that already holds 100k calls: each batch carries
// 20 new calls (a parent and its outbound-dial child, both live) and ends
// the 20 calls of ten batches earlier. It compares random SIDs with the
// switch's time-ordered ones (creation time, then random digits), whose
// index entries land at the end of the SID index.
func BenchmarkCallRecordWorkload(b *testing.B) {
	var seq atomic.Int64
	ordered := func(string) string {
		// The switch's layout: 16 hex digits of time, 16 random ones.
		return fmt.Sprintf("CA%016x%s", time.Now().UnixNano()+seq.Add(1), NewSID("CA")[18:])
	}
	for _, bc := range []struct {
		name string
		sid  func(string) string
	}{{"random", NewSID}, {"time-ordered", ordered}} {
		b.Run(bc.name, func(b *testing.B) {
			ctx := context.Background()
			s, err := Open(ctx, filepath.Join(b.TempDir(), "bench.db"), DefaultConfig())
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			acct := NewSID("AC")
			calls := func(status string) []Call {
				out := make([]Call, 0, 40)
				for range 20 {
					p := newCall(acct, status, t0)
					p.SID = bc.sid("CA")
					c := newCall(acct, status, t0)
					c.SID, c.ParentCallSID, c.Direction = bc.sid("CA"), p.SID, "outbound-dial"
					out = append(out, p, c)
				}
				return out
			}
			for range 2500 {
				if err := s.SaveCalls(ctx, calls(CallCompleted)); err != nil {
					b.Fatal(err)
				}
			}
			var live [][]Call
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				started := calls(CallInProgress)
				batch := slices.Clone(started)
				live = append(live, started)
				if len(live) > 10 {
					ended := live[0]
					live = live[1:]
					for i := range ended {
						ended[i].Status = CallCompleted
					}
					batch = append(batch, ended...)
				}
				if err := s.SaveCalls(ctx, batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/1e3/float64(b.N*20), "µs/call")
		})
	}
}
