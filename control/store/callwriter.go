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

// CallWriterConfig tunes the batching call-record writer.
type CallWriterConfig struct {
	// QueueSize bounds the records waiting to be written. When it is full,
	// Save waits: a finished call's record is never dropped.
	QueueSize int `yaml:"queue_size"`
	// MaxBatch bounds the records written in one transaction.
	MaxBatch int `yaml:"max_batch"`
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
	return CallWriterConfig{QueueSize: 16384, MaxBatch: 512, RetryInterval: 200 * time.Millisecond, CloseAttempts: 3}
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
	Queued    int    // records waiting now
	Saved     uint64 // records written (after coalescing)
	Coalesced uint64 // records superseded by a newer one for the same call in the same batch
	Batches   uint64 // transactions committed
	Waits     uint64 // Save calls that found the queue full and waited
	Failures  uint64 // failed batch attempts
	Lost      uint64 // records given up on after Close
}

// CallWriter batches call records: Save queues a record, one goroutine drains
// the queue and writes what it finds in one transaction, so the call path
// pays a channel send and the disk sees one commit per batch instead of one
// per status change. Several records for the same call in one batch are
// coalesced into the newest.
type CallWriter struct {
	saver   CallSaver
	cfg     CallWriterConfig
	log     *slog.Logger
	ch      chan Call
	closing chan struct{}
	done    chan struct{}
	once    sync.Once
	mu      sync.RWMutex // Save holds R while sending; Close takes W to close ch
	closed  bool

	saved, coalesced, batches, waits, failures, lost atomic.Uint64
	lastErr                                          atomic.Pointer[error]
}

// NewCallWriter starts the writer's goroutine; Close stops it.
func NewCallWriter(saver CallSaver, cfg CallWriterConfig, logger *slog.Logger) (*CallWriter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("call writer config: %w", err)
	}
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	w := &CallWriter{
		saver: saver, cfg: cfg, log: logger,
		ch:      make(chan Call, cfg.QueueSize),
		closing: make(chan struct{}),
		done:    make(chan struct{}),
	}
	go w.run()
	return w, nil
}

// Save queues a record. When the queue is full it waits for room (or for
// ctx). After Close it returns ErrClosed.
func (w *CallWriter) Save(ctx context.Context, c Call) error {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		return fmt.Errorf("save call %s: %w", c.SID, ErrClosed)
	}
	select {
	case w.ch <- c:
		return nil
	default:
	}
	w.waits.Add(1)
	select {
	case w.ch <- c:
		return nil
	case <-w.closing:
		return fmt.Errorf("save call %s: %w", c.SID, ErrClosed)
	case <-ctx.Done():
		return fmt.Errorf("save call %s: queue full: %w", c.SID, ctx.Err())
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
	}
	w.mu.Unlock()
	<-w.done
	if n := w.lost.Load(); n > 0 {
		err := errors.New("unknown error")
		if p := w.lastErr.Load(); p != nil {
			err = *p
		}
		return fmt.Errorf("call writer: %d call records could not be saved: %w", n, err)
	}
	return nil
}

// Stats returns a snapshot of the counters.
func (w *CallWriter) Stats() CallWriterStats {
	return CallWriterStats{
		Queued: len(w.ch), Saved: w.saved.Load(), Coalesced: w.coalesced.Load(),
		Batches: w.batches.Load(), Waits: w.waits.Load(), Failures: w.failures.Load(), Lost: w.lost.Load(),
	}
}

func (w *CallWriter) run() {
	defer close(w.done)
	batch := make([]Call, 0, w.cfg.MaxBatch)
	index := make(map[string]int, w.cfg.MaxBatch)
	add := func(c Call) {
		if i, ok := index[c.SID]; ok {
			batch[i] = c
			w.coalesced.Add(1)
			return
		}
		index[c.SID] = len(batch)
		batch = append(batch, c)
	}
	for {
		c, ok := <-w.ch
		if !ok {
			return
		}
		batch = batch[:0]
		open := true
		clear(index)
		add(c)
	drain:
		for n := 1; n < w.cfg.MaxBatch; n++ {
			select {
			case c, ok := <-w.ch:
				if !ok {
					open = false
					break drain
				}
				add(c)
			default:
				break drain
			}
		}
		w.write(batch)
		clear(batch) // drop references to the strings until the next batch
		if !open {
			return
		}
	}
}

// write commits one batch, retrying while the writer is open; once Close has
// been called it gives up after CloseAttempts and counts the records lost.
func (w *CallWriter) write(batch []Call) {
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	closingAttempts := 0
	for {
		err := w.saver.SaveCalls(context.Background(), batch)
		if err == nil {
			w.saved.Add(uint64(len(batch)))
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
			w.lost.Add(uint64(len(batch)))
			w.log.Error("call records lost: store keeps failing while closing", "records", len(batch), "error", err)
			return
		}
		w.log.Warn("saving call records failed; retrying", "records", len(batch), "error", err)
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
