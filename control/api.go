package control

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"tandem/control/store"
)

// DefaultSIPRealm is the digest realm SIP credentials are hashed with when
// WithSIPRealm is not given. The SIP stack must challenge with the same
// realm; each credential records the realm it was hashed for.
const DefaultSIPRealm = "tandem"

// API is the REST control API. It is an http.Handler; the daemon runs the
// http.Server (Config.HTTPServer) and its shutdown.
type API struct {
	cfg     Config
	st      store.Store
	calls   Calls
	log     *slog.Logger
	now     func() time.Time
	realm   string
	reg     prometheus.Registerer
	routes  []*route
	metrics *metrics
}

// Option configures New.
type Option func(*API)

// WithLogger sets the logger (nil discards).
func WithLogger(l *slog.Logger) Option { return func(a *API) { a.log = l } }

// WithClock sets the clock that dates resources.
func WithClock(now func() time.Time) Option { return func(a *API) { a.now = now } }

// WithRegisterer registers the API's request metrics there. Without it they
// go to a private registry (counted, not exported).
func WithRegisterer(r prometheus.Registerer) Option { return func(a *API) { a.reg = r } }

// WithSIPRealm sets the digest realm SIP credential passwords are hashed
// with: the realm the SIP stack challenges with.
func WithSIPRealm(realm string) Option { return func(a *API) { a.realm = realm } }

// New builds the API over a store. calls may be nil (no switch): then
// creating and updating calls answer 503.
func New(cfg Config, st store.Store, calls Calls, opts ...Option) (*API, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("control config: %w", err)
	}
	if st == nil {
		return nil, errors.New("control: a store is required")
	}
	a := &API{cfg: cfg, st: st, calls: calls, now: time.Now, realm: DefaultSIPRealm}
	for _, o := range opts {
		o(a)
	}
	if a.log == nil {
		a.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if a.realm == "" || strings.ContainsAny(a.realm, "\"\\\r\n") {
		return nil, fmt.Errorf("control: SIP realm %q: must be non-empty, without quotes, backslashes or line breaks", a.realm)
	}
	if a.reg == nil {
		a.reg = prometheus.NewRegistry()
	}
	m, err := newMetrics(a.reg)
	if err != nil {
		return nil, err
	}
	a.metrics = m
	a.routes = a.routeTable()
	return a, nil
}

// Handler returns the API's http.Handler.
func (a *API) Handler() http.Handler { return a }

// request is one API request once routed and authenticated.
type request struct {
	w      http.ResponseWriter
	r      *http.Request
	ctx    context.Context
	route  *route
	path   pathParams
	form   url.Values
	caller store.Account // the credentials' account
	acct   store.Account // the path's {AccountSid}, when the route has one
}

func (q *request) param(name string) string { return q.path.get(name) }

// has reports whether the form carries the parameter (possibly empty: an
// empty value clears a field on update, as Twilio does).
func (q *request) has(name string) bool { _, ok := q.form[name]; return ok }

func (q *request) get(name string) string { return q.form.Get(name) }

// json writes v with status.
func (q *request) json(status int, v any) error {
	q.w.Header().Set("Content-Type", "application/json; charset=utf-8")
	q.w.WriteHeader(status)
	enc := json.NewEncoder(q.w)
	enc.SetEscapeHTML(false) // Twilio writes '&' in page URIs as is
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write response: %w", errResponseStarted{err})
	}
	return nil
}

// noContent answers a delete: 204 with an empty body.
func (q *request) noContent() error {
	q.w.WriteHeader(http.StatusNoContent)
	return nil
}

// storeErr answers a failed store write on the path's resource: gone (or
// never there) is 404, anything else is wrapped with what was being done.
func (q *request) storeErr(err error, what string) error {
	if errors.Is(err, store.ErrNotFound) {
		return notFound(clip(q.r.URL.Path))
	}
	return fmt.Errorf("%s: %w", what, err)
}

// owned reads the resource a path SID names and checks that it belongs to
// owner. A malformed SID, a missing resource and another account's resource
// all answer 404 alike, so existence is not revealed.
func owned[T any](q *request, prefix, sid string, get func(context.Context, string) (T, error), ownerOf func(T) string, owner string) (T, error) {
	var zero T
	if !store.ValidSID(prefix, sid) {
		return zero, notFound(clip(q.r.URL.Path))
	}
	v, err := get(q.ctx, sid)
	if errors.Is(err, store.ErrNotFound) || err == nil && ownerOf(v) != owner {
		return zero, notFound(clip(q.r.URL.Path))
	}
	if err != nil {
		return zero, fmt.Errorf("read %s: %w", sid, err)
	}
	return v, nil
}

// errResponseStarted marks an error after the status line went out: it can
// only be logged.
type errResponseStarted struct{ error }

func (e errResponseStarted) Unwrap() error { return e.error }

// statusWriter remembers the status for metrics.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// ServeHTTP routes, authenticates, authorizes, parses the form, runs the
// handler, renders errors and counts the request.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w}
	rt, err := a.serve(sw, r)
	if err != nil {
		a.writeError(sw, r, err)
	}
	label := "unmatched"
	if rt != nil {
		label = rt.template
	}
	a.metrics.observe(label, r.Method, sw.status, time.Since(start))
}

func (a *API) serve(w http.ResponseWriter, r *http.Request) (*route, error) {
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")
	var rt *route
	var p pathParams
	for _, c := range a.routes {
		if c.match(parts, &p) {
			rt = c
			break
		}
	}
	if rt == nil {
		return nil, notFound(clip(r.URL.Path))
	}
	spec, ok := rt.methods[r.Method]
	if !ok {
		w.Header().Set("Allow", rt.allow)
		return rt, &Error{Status: http.StatusMethodNotAllowed, Code: CodeMethodNotAllowed,
			Message: fmt.Sprintf("Method %s not allowed on %s; allowed: %s", clip(r.Method), rt.template, rt.allow)}
	}
	q := &request{w: w, r: r, ctx: r.Context(), route: rt, path: p}
	caller, err := a.authenticate(q.ctx, r)
	if err != nil {
		return rt, err
	}
	q.caller = caller
	if sid := p.get("AccountSid"); sid != "" {
		acct, err := a.accountFor(q.ctx, caller, sid, r.URL.Path)
		if err != nil {
			return rt, err
		}
		// A parent manages a suspended or closed subaccount (fetching it,
		// changing its status, reading its records) but the subaccount's
		// resources do not change while it is not active.
		if acct.Status != store.AccountActive && !spec.accountItself && r.Method != http.MethodGet {
			return rt, forbidden("Account %s is %s", acct.SID, acct.Status)
		}
		q.acct = acct
	}
	if q.form, err = a.readForm(w, r); err != nil {
		return rt, err
	}
	for name, vals := range q.form {
		if !slices.Contains(spec.params, name) {
			return rt, invalidParam("Unknown parameter %s", clip(name))
		}
		for _, v := range vals {
			if !utf8.ValidString(v) || strings.ContainsRune(v, 0) {
				return rt, invalidParam("Parameter %s is not valid UTF-8 text", name)
			}
		}
	}
	return rt, spec.h(a, q)
}

// readForm reads the parameters: the query of a GET or DELETE, the
// form-encoded body of a POST (twilio-go sends
// application/x-www-form-urlencoded, twilio-voice.md §7.1).
func (a *API) readForm(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	if r.Method != http.MethodPost {
		v, err := url.ParseQuery(r.URL.RawQuery)
		if err != nil {
			return nil, invalidParam("Malformed query string: %v", err)
		}
		return v, nil
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/x-www-form-urlencoded" {
			return nil, &Error{Status: http.StatusUnsupportedMediaType, Code: CodeInvalidParameter,
				Message: "Request body must be application/x-www-form-urlencoded"}
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, a.cfg.MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, &Error{Status: http.StatusRequestEntityTooLarge, Code: CodeInvalidParameter,
				Message: fmt.Sprintf("Request body is larger than %d bytes", a.cfg.MaxBodyBytes)}
		}
		return nil, invalidParam("Cannot read the request body")
	}
	v, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, invalidParam("Malformed form body: %v", err)
	}
	return v, nil
}

// authenticate checks HTTP Basic AccountSid:AuthToken. Only an active
// account (whose parent, for a subaccount, is active too: suspending a main
// account suspends its subaccounts) authenticates.
func (a *API) authenticate(ctx context.Context, r *http.Request) (store.Account, error) {
	user, pass, ok := r.BasicAuth()
	if !ok || !store.ValidSID("AC", user) {
		return store.Account{}, unauthorized()
	}
	acct, err := a.st.Account(ctx, user)
	if errors.Is(err, store.ErrNotFound) {
		return store.Account{}, unauthorized()
	}
	if err != nil {
		return store.Account{}, fmt.Errorf("authenticate %s: %w", user, err)
	}
	if subtle.ConstantTimeCompare([]byte(pass), []byte(acct.AuthToken)) != 1 || acct.Status != store.AccountActive {
		return store.Account{}, unauthorized()
	}
	if !acct.IsMain() {
		owner, err := a.st.Account(ctx, acct.OwnerSID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return store.Account{}, fmt.Errorf("authenticate %s: owner: %w", user, err)
		}
		if err != nil || owner.Status != store.AccountActive {
			return store.Account{}, unauthorized()
		}
	}
	return acct, nil
}

// accountFor resolves the path's account: the caller itself, or a
// subaccount of the caller. Anything else is 404, so that a subaccount
// learns nothing of its parent's or siblings' existence.
func (a *API) accountFor(ctx context.Context, caller store.Account, sid, path string) (store.Account, error) {
	if sid == caller.SID {
		return caller, nil
	}
	if !store.ValidSID("AC", sid) {
		return store.Account{}, notFound(clip(path))
	}
	acct, err := a.st.Account(ctx, sid)
	if errors.Is(err, store.ErrNotFound) {
		return store.Account{}, notFound(clip(path))
	}
	if err != nil {
		return store.Account{}, fmt.Errorf("account %s: %w", sid, err)
	}
	if acct.IsMain() || acct.OwnerSID != caller.SID {
		return store.Account{}, notFound(clip(path))
	}
	return acct, nil
}

// writeError renders err as Twilio's error body; errors that do not
// classify themselves are logged and answered 500/20500.
func (a *API) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var started errResponseStarted
	if errors.As(err, &started) {
		a.log.Debug("control API response not completed", "path", clip(r.URL.Path), "error", err)
		return
	}
	status, code, msg := http.StatusInternalServerError, CodeInternal, "Internal Server Error"
	var te TwilioError
	if errors.As(err, &te) {
		status, code, msg = te.TwilioError()
	} else {
		a.log.Error("control API request failed", "method", r.Method, "path", clip(r.URL.Path), "error", err)
	}
	if status < 400 || status > 599 {
		status = http.StatusInternalServerError
	}
	h := w.Header()
	if status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", `Basic realm="Twilio API"`)
	}
	h.Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(errorBody{Code: code, Message: msg, MoreInfo: moreInfo(code), Status: status})
}

// clip bounds untrusted text echoed into messages and logs.
func clip(s string) string {
	const max = 200
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
