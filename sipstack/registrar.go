package sipstack

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
)

// Purpose says what a credential lookup is for.
type Purpose int

const (
	PurposeRegistration Purpose = iota // a REGISTER
	PurposeCall                        // an INVITE from a client of a domain
)

// Credentials is what the registrar needs from the store (the lead adapts
// control/store to it). Passwords are never needed, only HA1 hashes.
type Credentials interface {
	// Domain reports whether tandem serves this SIP domain.
	Domain(ctx context.Context, domain string) (bool, error)
	// Lookup returns the HA1 hashes of a user of a domain for the registrar
	// realm (see HA1: H(username:realm:password) with MD5 and SHA-256); ok
	// is false for an unknown user.
	Lookup(ctx context.Context, domain, username string, purpose Purpose) (ha1MD5, ha1SHA256 string, ok bool, err error)
}

// WithCredentials enables the registrar and digest authentication of
// clients (registrar.realm must be set too).
func WithCredentials(c Credentials) Option {
	return func(s *Stack) error {
		s.creds = c
		return nil
	}
}

// Contact is a registered contact of a user, for Dial: send to Destination
// over Transport (where the REGISTER really came from, RFC 3581), with the
// contact URI as Request-URI.
type Contact struct {
	URI         string
	Destination string // host:port
	Transport   string // "udp" or "tcp"
	Expires     time.Time
}

type aorKey struct{ domain, user string }

type binding struct {
	uri       string
	source    netip.AddrPort
	transport string
	expires   time.Time
	callID    string
	cseq      uint32
	added     time.Time
}

// registrar is an in-memory location service (RFC 3261 §10.3) with digest
// authentication by stateless HMAC nonces.
type registrar struct {
	s      *Stack
	cfg    RegistrarConfig
	secret []byte

	mu    sync.Mutex
	aors  map[aorKey][]binding
	count int

	// Replay protection: the highest nonce-count seen per nonce, bounded;
	// nonces expire after NonceTTL anyway.
	nmu    sync.Mutex
	nonces map[string]nonceUse
}

type nonceUse struct {
	nc      uint64
	expires int64
}

const maxTrackedNonces = 100000

func newRegistrar(s *Stack, cfg RegistrarConfig) *registrar {
	r := &registrar{s: s, cfg: cfg, aors: map[aorKey][]binding{}, nonces: map[string]nonceUse{}}
	if cfg.NonceSecret != "" {
		r.secret = []byte(cfg.NonceSecret)
	} else {
		r.secret = make([]byte, 32)
		_, _ = rand.Read(r.secret)
	}
	return r
}

// run sweeps expired bindings and nonces once a second until Close.
func (r *registrar) run() {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-r.s.closing:
			return
		case <-t.C:
			r.sweep(r.s.now())
		}
	}
}

func (r *registrar) sweep(now time.Time) {
	r.mu.Lock()
	for k, bs := range r.aors {
		r.aors[k] = r.live(k, bs, now)
	}
	r.mu.Unlock()
	n := now.UnixNano()
	r.nmu.Lock()
	for k, u := range r.nonces {
		if u.expires < n {
			delete(r.nonces, k)
		}
	}
	r.nmu.Unlock()
}

// live drops expired bindings; r.mu held.
func (r *registrar) live(k aorKey, bs []binding, now time.Time) []binding {
	out := bs[:0]
	for _, b := range bs {
		if b.expires.After(now) {
			out = append(out, b)
		}
	}
	r.count -= len(bs) - len(out)
	r.s.stats.registrations.Store(int64(r.count))
	if len(out) == 0 {
		delete(r.aors, k)
		return nil
	}
	return out
}

// nonce makes a stateless nonce: issue time and an HMAC over it and the
// realm. Verification needs no state; replays are bounded by the TTL and
// the nonce-count table.
func (r *registrar) nonce(now time.Time) string {
	var b [8 + 16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(now.UnixNano()))
	m := hmac.New(sha256.New, r.secret)
	m.Write(b[:8])
	m.Write([]byte(r.cfg.Realm))
	copy(b[8:], m.Sum(nil))
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// checkNonce returns whether the nonce is ours, and whether it has expired.
func (r *registrar) checkNonce(n string, now time.Time) (ours, stale bool) {
	b, err := base64.RawURLEncoding.DecodeString(n)
	if err != nil || len(b) != 24 {
		return false, false
	}
	m := hmac.New(sha256.New, r.secret)
	m.Write(b[:8])
	m.Write([]byte(r.cfg.Realm))
	if !hmac.Equal(m.Sum(nil)[:16], b[8:]) {
		return false, false
	}
	issued := time.Unix(0, int64(binary.BigEndian.Uint64(b[:8])))
	return true, now.Sub(issued) > r.cfg.NonceTTL || issued.After(now.Add(time.Minute))
}

// replayed records a nonce use and reports a replay: with qop the
// nonce-count must grow; without qop a nonce is good once.
func (r *registrar) replayed(c digestCredentials, now time.Time) bool {
	nc := uint64(1)
	if c.qop != "" {
		v, err := strconv.ParseUint(c.nc, 16, 64)
		if err != nil {
			return true
		}
		nc = v
	}
	key := c.nonce + "\x00" + c.cnonce
	r.nmu.Lock()
	defer r.nmu.Unlock()
	if u, ok := r.nonces[key]; ok && nc <= u.nc {
		return true
	}
	if len(r.nonces) >= maxTrackedNonces {
		// Bounded: forget an arbitrary entry; its nonce still expires.
		for k := range r.nonces {
			delete(r.nonces, k)
			break
		}
	}
	r.nonces[key] = nonceUse{nc: nc, expires: now.Add(r.cfg.NonceTTL).UnixNano()}
	return false
}

// challenge sends 401 or 407 with an MD5 and a SHA-256 challenge (RFC 8760;
// MD5 first because many deployed clients, SIPp among them, take the first).
func (r *registrar) challenge(req *sip.Request, tx *sip.ServerTx, proxy, stale bool) {
	code, name := 401, "WWW-Authenticate"
	if proxy {
		code, name = 407, "Proxy-Authenticate"
	}
	n := r.nonce(r.s.now())
	st := ""
	if stale {
		st = ", stale=true"
	}
	hs := []sip.Header{
		sip.NewHeader(name, fmt.Sprintf(`Digest realm="%s", nonce="%s", algorithm=MD5, qop="auth"%s`, r.cfg.Realm, n, st)),
		sip.NewHeader(name, fmt.Sprintf(`Digest realm="%s", nonce="%s", algorithm=SHA-256, qop="auth"%s`, r.cfg.Realm, n, st)),
	}
	r.s.replyStateless(req, tx, code, reasonPhrase(code), hs...)
}

// authenticate verifies the digest credentials of req for user@domain.
// It answers the request itself (challenge or refusal) when it returns
// false.
func (r *registrar) authenticate(req *sip.Request, tx *sip.ServerTx, proxy bool, domain, user string, purpose Purpose) bool {
	hname := "Authorization"
	if proxy {
		hname = "Proxy-Authorization"
	}
	var cred *digestCredentials
	for _, h := range req.Headers() {
		if !strings.EqualFold(h.Name(), hname) {
			continue
		}
		c, err := parseCredentials(h.Value())
		if err == nil && c.realm == r.cfg.Realm {
			cred = &c
			break
		}
	}
	if cred == nil {
		r.challenge(req, tx, proxy, false)
		return false
	}
	now := r.s.now()
	ours, stale := r.checkNonce(cred.nonce, now)
	if !ours || stale {
		r.challenge(req, tx, proxy, ours)
		return false
	}
	if !strings.EqualFold(cred.username, user) {
		r.s.refuse(req, tx, 403, ReasonUnauthorized)
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	md5h, shah, ok, err := r.s.creds.Lookup(ctx, domain, cred.username, purpose)
	if err != nil {
		r.s.refuse(req, tx, 500, ReasonUnauthorized)
		return false
	}
	ha1 := md5h
	if strings.HasPrefix(cred.algorithm, "SHA-256") {
		ha1 = shah
	}
	if !ok || ha1 == "" {
		r.s.refuse(req, tx, 403, ReasonUnauthorized)
		return false
	}
	want := digestResponse(cred.algorithm, ha1, cred.nonce, cred.nc, cred.cnonce, cred.qop, string(req.Method), cred.uri)
	if subtle.ConstantTimeCompare([]byte(want), []byte(cred.response)) != 1 {
		r.s.refuse(req, tx, 403, ReasonUnauthorized)
		return false
	}
	if r.replayed(*cred, now) {
		r.challenge(req, tx, proxy, true)
		return false
	}
	return true
}

func (r *registrar) knownDomain(domain string) (bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return r.s.creds.Domain(ctx, domain)
}

// onRegister handles REGISTER (RFC 3261 §10.3).
func (r *registrar) onRegister(req *sip.Request, tx *sip.ServerTx) {
	s := r.s
	src, err := netip.ParseAddrPort(req.Source())
	to := req.To()
	if err != nil || to == nil || req.CallID() == nil || req.CSeq() == nil {
		s.refuse(req, tx, 400, ReasonBadRequest)
		return
	}
	if s.adm.perSource != nil && !s.adm.perSource.allow(src.Addr().Unmap(), s.now().UnixNano()) {
		s.refuse(req, tx, 503, ReasonRateLimited)
		return
	}
	domain := strings.ToLower(to.Address.Host)
	user := to.Address.User
	if ok, err := r.knownDomain(domain); err != nil {
		s.refuse(req, tx, 500, ReasonBadRequest)
		return
	} else if !ok {
		s.refuse(req, tx, 404, ReasonNotTrunk)
		return
	}
	if user == "" {
		s.refuse(req, tx, 400, ReasonBadRequest)
		return
	}
	if !r.authenticate(req, tx, false, domain, user, PurposeRegistration) {
		return
	}

	// Requested expiry: the Expires header, overridden per contact.
	defExp := r.cfg.DefaultExpires
	if h := req.GetHeader("Expires"); h != nil {
		if n, err := strconv.Atoi(strings.TrimSpace(h.Value())); err == nil && n >= 0 {
			defExp = time.Duration(n) * time.Second
		}
	}
	var contacts []*sip.ContactHeader
	wildcard := false
	for _, h := range req.Headers() {
		if c, ok := h.(*sip.ContactHeader); ok {
			if c.Address.Wildcard {
				wildcard = true
			}
			contacts = append(contacts, c)
		}
	}
	now := s.now()
	key := aorKey{domain, strings.ToLower(user)}
	callID, cseq := req.CallID().Value(), req.CSeq().SeqNo
	tp := strings.ToLower(req.Transport())

	r.mu.Lock()
	bs := r.live(key, r.aors[key], now)
	if wildcard {
		// "Contact: *" must come alone with Expires: 0 (§10.2.2).
		if len(contacts) != 1 || defExp != 0 {
			r.mu.Unlock()
			s.refuse(req, tx, 400, ReasonBadRequest)
			return
		}
		r.count -= len(bs)
		bs = nil
	}
	for _, c := range contacts {
		if c.Address.Wildcard {
			continue
		}
		exp := defExp
		if v, ok := c.Params.Get("expires"); ok {
			if n, err := strconv.Atoi(v); err == nil && n >= 0 {
				exp = time.Duration(n) * time.Second
			}
		}
		if exp > 0 && exp < r.cfg.MinExpires {
			r.mu.Unlock()
			s.replyStateless(req, tx, 423, "Interval Too Brief", sip.NewHeader("Min-Expires", strconv.Itoa(int(r.cfg.MinExpires/time.Second))))
			return
		}
		if exp > r.cfg.MaxExpires {
			exp = r.cfg.MaxExpires
		}
		uri := uriNoHeaders(&c.Address)
		idx := -1
		for i := range bs {
			if bs[i].uri == uri {
				idx = i
			}
		}
		if idx >= 0 && bs[idx].callID == callID && cseq <= bs[idx].cseq {
			continue // §10.3 step 7: an older request, ignore this contact
		}
		if exp == 0 {
			if idx >= 0 {
				bs = append(bs[:idx], bs[idx+1:]...)
				r.count--
			}
			continue
		}
		b := binding{uri: uri, source: src, transport: tp, expires: now.Add(exp), callID: callID, cseq: cseq, added: now}
		if idx >= 0 {
			b.added = bs[idx].added
			bs[idx] = b
			continue
		}
		if len(bs) >= r.cfg.MaxContacts {
			// Replace the oldest registration of this user.
			oldest := 0
			for i := range bs {
				if bs[i].added.Before(bs[oldest].added) {
					oldest = i
				}
			}
			bs = append(bs[:oldest], bs[oldest+1:]...)
			r.count--
		}
		bs = append(bs, b)
		r.count++
	}
	if len(bs) == 0 {
		delete(r.aors, key)
	} else {
		r.aors[key] = bs
	}
	s.stats.registrations.Store(int64(r.count))
	current := append([]binding(nil), bs...)
	r.mu.Unlock()

	hs := make([]sip.Header, 0, len(current)+1)
	for _, b := range current {
		secs := int(b.expires.Sub(now).Round(time.Second) / time.Second)
		hs = append(hs, sip.NewHeader("Contact", "<"+b.uri+">;expires="+strconv.Itoa(secs)))
	}
	hs = append(hs, sip.NewHeader("Date", now.UTC().Format(time.RFC1123)))
	s.replyStateless(req, tx, 200, "OK", hs...)
}

// authenticateCall authenticates an INVITE from a client of a domain with a
// 407 challenge (RFC 3261 §22.3). It answers the request itself when it
// returns false.
func (r *registrar) authenticateCall(req *sip.Request, tx *sip.ServerTx) (identity, bool) {
	from := req.From()
	domain := strings.ToLower(from.Address.Host)
	user := from.Address.User
	ok, err := r.knownDomain(domain)
	if err != nil || !ok || user == "" {
		if r.s.dropUnknown {
			r.s.stats.refuse(ReasonNotTrunk)
			tx.Terminate()
			return identity{}, false
		}
		r.s.refuse(req, tx, 403, ReasonNotTrunk)
		return identity{}, false
	}
	if !r.authenticate(req, tx, true, domain, user, PurposeCall) {
		return identity{}, false
	}
	return identity{domain: domain, username: user}, true
}

// Contacts returns the live registered contacts of user@domain, newest
// first, for <Client> dialling (ring them all with Dial, Destination and
// Transport set from each Contact).
func (s *Stack) Contacts(domain, user string) []Contact {
	if s.reg == nil {
		return nil
	}
	r := s.reg
	key := aorKey{strings.ToLower(domain), strings.ToLower(user)}
	now := s.now()
	r.mu.Lock()
	bs := r.live(key, r.aors[key], now)
	out := make([]Contact, 0, len(bs))
	for _, b := range bs {
		out = append(out, Contact{URI: b.uri, Destination: b.source.String(), Transport: b.transport, Expires: b.expires})
	}
	r.mu.Unlock()
	sort.SliceStable(out, func(i, j int) bool { return out[i].Expires.After(out[j].Expires) })
	return out
}

func (s *Stack) registrarKnows(netip.Addr) bool { return s.reg != nil }
