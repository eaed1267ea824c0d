package webhook

import (
	"bufio"
	"context"
	"crypto/tls"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Connection pooling.
//
// fasthttp does the HTTP/1.1 wire work (fasthttp.Request.Write,
// fasthttp.ResponseHeader.Read, fasthttp.Response.ReadBody: header parsing,
// chunked bodies, the body size limit). The pool around it is ours rather
// than fasthttp.HostClient's because Twilio's per-URL settings need
// per-request control that HostClient does not give:
//   - ct is a connect timeout per request, rt an idle timeout per read
//     (time to first byte and between packets), tt a deadline across
//     attempts; HostClient has one ReadTimeout per client.
//   - retries follow #rc/#rp, so a failure must be classified by phase
//     (connect, TLS, read timeout) which HostClient folds into one error.
//   - HostClient starts an idle-connection cleaner goroutine per host that
//     sleeps up to the idle timeout and cannot be stopped; here one cleaner
//     goroutine is owned by the Client and ends in Close.

// hostPool holds the keep-alive connections to one scheme://host:port.
// Idle connections wait in a channel (capacity MaxConnsPerHost, so a put
// never blocks): a request waiting for a free connection selects on it and
// cannot miss one released while it was deciding to wait.
type hostPool struct {
	key        string
	addr       string // host:port to dial
	tlsConfig  *tls.Config
	sem        chan struct{} // one token per open connection (busy or idle)
	idle       chan *conn
	mu         sync.Mutex  // orders put against eviction and death
	dead       atomic.Bool // removed from the client's map: put closes; written under mu
	lastUsedNS atomic.Int64
}

// conn is one pooled connection. While a request holds it (between get and
// put/close) its per-attempt fields belong to that request alone.
type conn struct {
	nc      net.Conn
	br      *bufio.Reader
	bw      *bufio.Writer
	pool    *hostPool
	lastUse time.Time

	// per attempt
	now      func() time.Time
	rt       time.Duration // idle read timeout
	deadline time.Time     // attempt deadline (total budget)
	nread    int           // bytes read in this attempt
	readErr  error         // last read error in this attempt
	writeErr error         // the request could not be written
	canceled atomic.Bool   // the request's context was canceled
}

// Read implements io.Reader for the bufio.Reader: every read gets a fresh
// deadline of now+rt, capped by the attempt deadline, so rt limits the
// time to the first byte and each gap between packets (§3.1).
func (c *conn) Read(p []byte) (int, error) {
	if c.canceled.Load() {
		return 0, context.Canceled
	}
	d := c.now().Add(c.rt)
	if !c.deadline.IsZero() && c.deadline.Before(d) {
		d = c.deadline
	}
	if err := c.nc.SetReadDeadline(d); err != nil {
		c.readErr = err
		return 0, err
	}
	// Checked after setting the deadline: a cancellation that raced with
	// SetReadDeadline has either been seen here or moved the deadline into
	// the past after us (see cancelFunc).
	if c.canceled.Load() {
		return 0, context.Canceled
	}
	n, err := c.nc.Read(p)
	c.nread += n
	if err != nil {
		c.readErr = err
	}
	return n, err
}

// startAttempt resets the per-attempt state.
func (c *conn) startAttempt(now func() time.Time, rt time.Duration, deadline time.Time) {
	c.now, c.rt, c.deadline = now, rt, deadline
	c.nread, c.readErr, c.writeErr = 0, nil, nil
	c.canceled.Store(false)
}

// cancel interrupts a blocked read or write (context cancellation).
func (c *conn) cancel() {
	c.canceled.Store(true)
	_ = c.nc.SetDeadline(time.Unix(1, 0))
}

// get returns an idle connection or a new one. reused reports a pooled
// keep-alive connection (which the server may have closed meanwhile).
func (p *hostPool) get(ctx context.Context, cl *Client, connectDeadline time.Time, allowIdle bool) (c *conn, reused bool, err error) {
	idleTimeout := cl.cfg.IdleConnTimeout
	for allowIdle {
		select {
		case c := <-p.idle:
			if cl.now().Sub(c.lastUse) > idleTimeout {
				p.closeConn(c) // the cleaner has not got to it yet
				continue
			}
			return c, true, nil
		default:
		}
		break
	}
	select {
	case p.sem <- struct{}{}:
	default:
		// At MaxConnsPerHost: wait for a slot or a released connection, up
		// to the connect deadline (a full pool is a connect failure).
		wait := connectDeadline.Sub(cl.now())
		if wait <= 0 {
			return nil, false, ErrNoFreeConns
		}
		timer := time.NewTimer(wait)
		defer timer.Stop()
	wait:
		for {
			select {
			case p.sem <- struct{}{}:
				break wait
			case c := <-p.idle:
				if cl.now().Sub(c.lastUse) > idleTimeout {
					p.closeConn(c)
					continue
				}
				return c, true, nil
			case <-timer.C:
				return nil, false, ErrNoFreeConns
			case <-ctx.Done():
				return nil, false, ctx.Err()
			}
		}
	}
	c, err = cl.dial(ctx, p, connectDeadline)
	if err != nil {
		<-p.sem
		return nil, false, err
	}
	return c, false, nil
}

// put returns a healthy keep-alive connection.
func (p *hostPool) put(c *conn, now time.Time) {
	c.lastUse = now
	p.lastUsedNS.Store(now.UnixNano())
	p.mu.Lock()
	if !p.dead.Load() {
		select {
		case p.idle <- c:
			p.mu.Unlock()
			return
		default: // cannot happen: idle has room for every open connection
		}
	}
	p.mu.Unlock()
	p.closeConn(c)
}

// closeConn closes c and frees its slot.
func (p *hostPool) closeConn(c *conn) {
	_ = c.nc.Close()
	<-p.sem
}

// evictIdle closes idle connections unused since before cutoff, and reports
// whether the pool is now empty and unused since before cutoff (so the
// cleaner may drop it). all closes every idle connection and marks the pool
// dead (Close).
func (p *hostPool) evictIdle(cutoff time.Time, all bool) (empty bool) {
	var victims, kept []*conn
	p.mu.Lock()
drain:
	for range len(p.idle) {
		select {
		case c := <-p.idle:
			if all || c.lastUse.Before(cutoff) {
				victims = append(victims, c)
			} else {
				kept = append(kept, c)
			}
		default:
			break drain // a request took one meanwhile
		}
	}
	for _, c := range kept {
		p.idle <- c // room: these were just taken out
	}
	empty = len(p.idle) == 0 && len(p.sem) == len(victims) && p.lastUsedNS.Load() < cutoff.UnixNano()
	if all || empty {
		p.dead.Store(true)
	}
	p.mu.Unlock()
	for _, c := range victims {
		p.closeConn(c)
	}
	return empty
}

// pool returns the pool for t, creating it on first use.
func (cl *Client) pool(t *target) *hostPool {
	key := t.poolKey()
	if v, ok := cl.pools.Load(key); ok {
		if p := v.(*hostPool); !p.dead.Load() {
			return p
		}
		cl.pools.CompareAndDelete(key, v)
	}
	p := &hostPool{
		key:  strings.Clone(key), // do not pin the caller's whole URL
		addr: t.dialAddr(),
		sem:  make(chan struct{}, cl.cfg.MaxConnsPerHost),
		idle: make(chan *conn, cl.cfg.MaxConnsPerHost),
	}
	if t.https {
		cfg := cl.tlsConfig.Clone()
		if cfg.ServerName == "" {
			// crypto/tls verifies an IP against the certificate's IP SANs
			// and sends SNI only for names.
			cfg.ServerName = t.host
		}
		p.tlsConfig = cfg
	}
	p.lastUsedNS.Store(cl.now().UnixNano())
	v, _ := cl.pools.LoadOrStore(p.key, p)
	return v.(*hostPool)
}

// dialError carries the phase a new connection failed in.
type dialError struct {
	tls bool
	err error
}

func (e *dialError) Error() string {
	if e.tls {
		return "TLS handshake: " + e.err.Error()
	}
	return "connect: " + e.err.Error()
}

func (e *dialError) Unwrap() error { return e.err }

// dial opens a connection (and does the TLS handshake) within the connect
// deadline: #ct covers "connect or TLS failure" (§3.1).
func (cl *Client) dial(ctx context.Context, p *hostPool, deadline time.Time) (*conn, error) {
	dctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	nc, err := cl.dialFunc(dctx, "tcp", p.addr)
	if err != nil {
		return nil, &dialError{err: err}
	}
	if p.tlsConfig != nil {
		tc := tls.Client(nc, p.tlsConfig)
		if err := tc.HandshakeContext(dctx); err != nil {
			_ = nc.Close()
			return nil, &dialError{tls: true, err: err}
		}
		nc = tc
	}
	cl.stats.connsOpened.Add(1)
	c := &conn{nc: nc, pool: p}
	c.br = bufio.NewReaderSize(c, 8192)
	c.bw = bufio.NewWriterSize(nc, 4096)
	return c, nil
}

// cleaner closes idle connections and drops unused pools until Close.
func (cl *Client) cleaner() {
	defer cl.wg.Done()
	every := cl.cfg.IdleConnTimeout / 2
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-cl.done:
			return
		case <-t.C:
			cl.evictIdle(cl.now().Add(-cl.cfg.IdleConnTimeout))
		}
	}
}

// evictIdle runs one cleaning pass with the given cutoff.
func (cl *Client) evictIdle(cutoff time.Time) {
	cl.pools.Range(func(k, v any) bool {
		if v.(*hostPool).evictIdle(cutoff, false) {
			cl.pools.CompareAndDelete(k, v)
		}
		return true
	})
}

// closePools closes every idle connection; connections in use are closed
// when their request releases them (the pools are dead).
func (cl *Client) closePools() {
	cl.pools.Range(func(k, v any) bool {
		v.(*hostPool).evictIdle(time.Time{}, true)
		cl.pools.Delete(k)
		return true
	})
}
