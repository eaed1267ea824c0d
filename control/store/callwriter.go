package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// CallSaver writes a batch of call records in one transaction (Store's
// SaveCalls).
type CallSaver interface {
	SaveCalls(ctx context.Context, calls []Call) error
}

// RecordSaver writes call records and notifications in one transaction
// (Store's SaveRecords). The CallWriter takes notifications only when its
// saver is one; every Store is.
type RecordSaver interface {
	CallSaver
	SaveRecords(ctx context.Context, calls []Call, notifications []Notification) error
}

// CallWriterConfig tunes the batching call-record writer.
type CallWriterConfig struct {
	// QueueSize bounds the records waiting to be written. When it is full,
	// Save waits: a finished call's record is never dropped. Notifications
	// have a queue of their own of the same size (SaveNotification waits
	// the same way).
	QueueSize int `yaml:"queue_size"`
	// MaxBatch bounds the records written in one transaction.
	MaxBatch int `yaml:"max_batch"`
	// MaxDelay is how long the first record of a batch waits for others
	// before the batch is written (group commit): one commit then carries
	// many calls, and a call's early status changes (initiated, ringing,
	// in-progress) coalesce into one row write. It is also the most a
	// record lags behind the call in the API. 0 writes at once whatever is
	// queued.
	MaxDelay time.Duration `yaml:"max_delay"`
	// RetryInterval is the pause before a failed batch is written again.
	RetryInterval time.Duration `yaml:"retry_interval"`
	// CloseAttempts bounds how often a batch is tried once Close has been
	// called (the store may be gone for good); records still failing then
	// are counted as lost and reported by Close.
	CloseAttempts int `yaml:"close_attempts"`
}

// DefaultCallWriterConfig sizes the queue for about two seconds of records
// at 1000 new calls/s with two legs and three saves per leg.
func DefaultCallWriterConfig() CallWriterConfig {
	return CallWriterConfig{QueueSize: 16384, MaxBatch: 512, MaxDelay: 50 * time.Millisecond,
		RetryInterval: 200 * time.Millisecond, CloseAttempts: 3}
}

// Validate names the first bad key.
func (c CallWriterConfig) Validate() error {
	var errs []error
	if c.QueueSize < 1 {
		errs = append(errs, fmt.Errorf("queue_size: must be at least 1 (got %d)", c.QueueSize))
	}
	if c.MaxBatch < 1 {
		errs = append(errs, fmt.Errorf("max_batch: must be at least 1 (got %d)", c.MaxBatch))
	}
	if c.MaxDelay < 0 {
		errs = append(errs, fmt.Errorf("max_delay: must not be negative (got %s)", c.MaxDelay))
	}
	if c.RetryInterval <= 0 {
		errs = append(errs, fmt.Errorf("retry_interval: must be positive (got %s)", c.RetryInterval))
	}
	if c.CloseAttempts < 1 {
		errs = append(errs, fmt.Errorf("close_attempts: must be at least 1 (got %d)", c.CloseAttempts))
	}
	return errors.Join(errs...)
}

// CallWriterStats is a snapshot of the writer's counters.
type CallWriterStats struct {
	Queued    int    // call records waiting now
	Saved     uint64 // call records written (after coalescing)
	Coalesced uint64 // records superseded by a newer one for the same call in the same batch
	Batches   uint64 // transactions committed (call records and notifications together)
	Waits     uint64 // Save and SaveNotification calls that found their queue full and waited
	Failures  uint64 // failed batch attempts
	Lost      uint64 // call records given up on after Close

	NotificationsQueued int    // notifications waiting now
	NotificationsSaved  uint64 // notifications written
	NotificationsLost   uint64 // notifications given up on after Close
}

// CallWriter batches call records and notifications: Save and
// SaveNotification queue one, one goroutine drains both queues and writes
// what it finds in one transaction, so the call path pays a channel send and
// the disk sees one commit per batch instead of one per status change or
// warning. Several records for the same call in one batch are coalesced
// into the newest; notifications are log entries and are all written.
type CallWriter struct {
	saver   CallSaver
	records RecordSaver // nil when saver does not save notifications
	cfg     CallWriterConfig
	log     *slog.Logger
	ch      chan queuedCall
	notes   chan Notification
	closing chan struct{}
	done    chan struct{}
	once    sync.Once
	mu      sync.RWMutex // senders hold R while sending; Close takes W to close the queues
	closed  bool

	saved, coalesced, batches, waits, failures, lost atomic.Uint64
	notesSaved, notesLost                            atomic.Uint64
	lastErr                                          atomic.Pointer[error]
}

// NewCallWriter starts the writer's goroutine; Close stops it. When saver is
// a RecordSaver (any Store), the writer also takes notifications.
func NewCallWriter(saver CallSaver, cfg CallWriterConfig, logger *slog.Logger) (*CallWriter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("call writer config: %w", err)
	}
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	w := &CallWriter{
		saver: saver, cfg: cfg, log: logger,
		ch:      make(chan queuedCall, cfg.QueueSize),
		closing: make(chan struct{}),
		done:    make(chan struct{}),
	}
	if rs, ok := saver.(RecordSaver); ok {
		w.records = rs
		w.notes = make(chan Notification, cfg.QueueSize)
	}
	go w.run()
	return w, nil
}

// Save queues a record. When the queue is full it waits for room (or for
// ctx). After Close it returns ErrClosed.
func (w *CallWriter) Save(ctx context.Context, c Call) error {
	return enqueue(ctx, w, w.ch, queuedCall{c: c}, "call", c.SID)
}

// SaveNotify queues a record like Save and returns a channel that is
// closed once the batch holding it has been committed (or, at Close, given
// up on): what must not happen before the record can be read back (a
// call's completed status callback) waits for it.
func (w *CallWriter) SaveNotify(ctx context.Context, c Call) (<-chan struct{}, error) {
	stored := make(chan struct{})
	if err := enqueue(ctx, w, w.ch, queuedCall{c: c, stored: stored}, "call", c.SID); err != nil {
		return nil, err
	}
	return stored, nil
}

// queuedCall is a record waiting in the writer's queue, with the channel
// to close once it is written (SaveNotify; nil for Save).
type queuedCall struct {
	c      Call
	stored chan struct{}
}

// SaveNotification queues a notification, filling an empty SID. One that
// cannot be stored (Notification.Validate) is refused at once with
// ErrInvalid, so that it never holds up a batch; text fields are cut to
// MaxNotificationText. When the queue is full it waits for room (or for
// ctx); a notification is never dropped. After Close it returns ErrClosed.
func (w *CallWriter) SaveNotification(ctx context.Context, n Notification) error {
	if w.records == nil {
		return fmt.Errorf("save notification: the writer's store does not save notifications: %w", errors.ErrUnsupported)
	}
	if n.SID == "" {
		n.SID = NewSID("NO")
	}
	if err := n.Validate(); err != nil {
		return fmt.Errorf("save %w", err)
	}
	n.normalize()
	return enqueue(ctx, w, w.notes, n, "notification", n.SID)
}

// enqueue sends v on one of the writer's queues: at once when there is
// room, otherwise waiting (counted) until there is, the writer closes or
// ctx ends.
func enqueue[T any](ctx context.Context, w *CallWriter, ch chan T, v T, what, sid string) error {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		return fmt.Errorf("save %s %s: %w", what, sid, ErrClosed)
	}
	select {
	case ch <- v:
		return nil
	default:
	}
	w.waits.Add(1)
	select {
	case ch <- v:
		return nil
	case <-w.closing:
		return fmt.Errorf("save %s %s: %w", what, sid, ErrClosed)
	case <-ctx.Done():
		return fmt.Errorf("save %s %s: queue full: %w", what, sid, ctx.Err())
	}
}

// Close stops accepting records, writes every queued one and waits for the
// goroutine to end. It reports records that could not be written.
func (w *CallWriter) Close() error {
	w.once.Do(func() { close(w.closing) })
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.ch)
		if w.notes != nil {
			close(w.notes)
		}
	}
	w.mu.Unlock()
	<-w.done
	calls, notes := w.lost.Load(), w.notesLost.Load()
	if calls+notes > 0 {
		err := errors.New("unknown error")
		if p := w.lastErr.Load(); p != nil {
			err = *p
		}
		return fmt.Errorf("call writer: %d call records and %d notifications could not be saved: %w", calls, notes, err)
	}
	return nil
}

// Stats returns a snapshot of the counters.
func (w *CallWriter) Stats() CallWriterStats {
	return CallWriterStats{
		Queued: len(w.ch), Saved: w.saved.Load(), Coalesced: w.coalesced.Load(),
		Batches: w.batches.Load(), Waits: w.waits.Load(), Failures: w.failures.Load(), Lost: w.lost.Load(),
		NotificationsQueued: len(w.notes), NotificationsSaved: w.notesSaved.Load(),
		NotificationsLost: w.notesLost.Load(),
	}
}

func (w *CallWriter) run() {
	defer close(w.done)
	batch := make([]Call, 0, w.cfg.MaxBatch)
	var notes []Notification
	if w.notes != nil {
		notes = make([]Notification, 0, w.cfg.MaxBatch)
	}
	index := make(map[string]int, w.cfg.MaxBatch)
	var stored []chan struct{} // closed once the batch is written
	add := func(q queuedCall) {
		c := q.c
		if q.stored != nil {
			stored = append(stored, q.stored)
		}
		if i, ok := index[c.SID]; ok {
			batch[i] = c
			w.coalesced.Add(1)
			return
		}
		index[c.SID] = len(batch)
		batch = append(batch, c)
	}
	// A closed queue is set to nil, which a select never picks; the writer
	// ends when both are closed and drained.
	calls, noteq := w.ch, w.notes
	// takeCall and takeNote file what a receive from either queue gave.
	takeCall := func(c queuedCall, ok bool) {
		if ok {
			add(c)
		} else {
			calls = nil
		}
	}
	takeNote := func(n Notification, ok bool) {
		if ok {
			notes = append(notes, n)
		} else {
			noteq = nil
		}
	}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for calls != nil || noteq != nil {
		batch, notes = batch[:0], notes[:0]
		clear(index)
		// Wait for the first record of a batch.
		select {
		case c, ok := <-calls:
			takeCall(c, ok)
		case n, ok := <-noteq:
			takeNote(n, ok)
		}
		if len(batch)+len(notes) == 0 {
			continue // a queue was closed
		}
		// Take what else comes within MaxDelay (or is already queued), up
		// to MaxBatch records; Close cuts the wait short.
		var linger <-chan time.Time
		if w.cfg.MaxDelay > 0 {
			timer.Reset(w.cfg.MaxDelay)
			linger = timer.C
		}
		closing := w.closing
	gather:
		for len(batch)+len(notes) < w.cfg.MaxBatch {
			if linger == nil {
				// Nothing to wait for: take only what is queued.
				select {
				case c, ok := <-calls:
					takeCall(c, ok)
				case n, ok := <-noteq:
					takeNote(n, ok)
				default:
					break gather
				}
				continue
			}
			select {
			case c, ok := <-calls:
				takeCall(c, ok)
			case n, ok := <-noteq:
				takeNote(n, ok)
			case <-linger:
				break gather
			case <-closing:
				// Write what is queued without waiting any longer.
				closing, linger = nil, nil
			}
		}
		timer.Stop() // Go 1.23 timers: no stale tick is left in timer.C
		w.write(batch, notes)
		for _, ch := range stored {
			close(ch)
		}
		clear(batch) // drop references to the strings until the next batch
		clear(notes)
		clear(stored)
		stored = stored[:0]
	}
}

// save writes one batch: call records alone through SaveCalls, with
// notifications through SaveRecords.
func (w *CallWriter) save(calls []Call, notes []Notification) error {
	if len(notes) == 0 {
		return w.saver.SaveCalls(context.Background(), calls)
	}
	return w.records.SaveRecords(context.Background(), calls, notes)
}

// write commits one batch, retrying while the writer is open; once Close has
// been called it gives up after CloseAttempts and counts the records lost.
func (w *CallWriter) write(calls []Call, notes []Notification) {
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	closingAttempts := 0
	for {
		err := w.save(calls, notes)
		if err == nil {
			w.saved.Add(uint64(len(calls)))
			w.notesSaved.Add(uint64(len(notes)))
			w.batches.Add(1)
			return
		}
		w.failures.Add(1)
		w.lastErr.Store(&err)
		select {
		case <-w.closing:
			closingAttempts++
		default:
		}
		if closingAttempts >= w.cfg.CloseAttempts {
			w.lost.Add(uint64(len(calls)))
			w.notesLost.Add(uint64(len(notes)))
			w.log.Error("call records lost: store keeps failing while closing", "records", len(calls),
				"notifications", len(notes), "error", err)
			return
		}
		w.log.Warn("saving call records failed; retrying", "records", len(calls), "notifications", len(notes), "error", err)
		if timer == nil {
			timer = time.NewTimer(w.cfg.RetryInterval)
		} else {
			timer.Reset(w.cfg.RetryInterval)
		}
		select {
		case <-timer.C:
		case <-w.closing:
		}
	}
}
