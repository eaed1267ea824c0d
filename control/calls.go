package control

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"tandem/control/store"
	"tandem/twiml"
)

// Calls is what control needs from the switch to originate and control live
// calls. The switch implements it (through an adapter in cmd/tandem);
// control does not import the switch. Errors that implement TwilioError
// choose the answer (e.g. 400/21220 for a call that is not in progress,
// 404/20404 for a call that is not live on this node or not the
// account's).
type Calls interface {
	// Create starts an outbound-api call and returns its record (status
	// "queued").
	Create(ctx context.Context, req CallRequest) (store.Call, error)
	// Update redirects (URL/Method or Twiml), hangs up (Status=completed) or
	// cancels (Status=canceled) a live call.
	Update(ctx context.Context, req CallUpdate) (store.Call, error)
}

// CallRequest is a validated create-call request (twilio-voice.md §7.4).
// Exactly one of URL, Twiml and Application is set; with Application, the
// application's URLs and callbacks win and Method, FallbackURL and the
// StatusCallback fields are left as given (Twilio ignores them then).
type CallRequest struct {
	AccountSID string
	APIVersion string // "2010-04-01"
	To         string // E.164, sip: URI or client: identifier (query string kept)
	From       string
	URL        string
	Method     string // GET | POST
	Twiml      string // a document twiml.Parse accepted
	// Application is the resolved ApplicationSid: the account's own, or
	// another account's with PublicApplicationConnectEnabled.
	Application          *store.Application
	FallbackURL          string
	FallbackMethod       string
	StatusCallback       string
	StatusCallbackEvents []string // initiated, ringing, answered, completed; default completed
	StatusCallbackMethod string
	Timeout              time.Duration // ring timeout, default 60 s, at most 600 s
	TimeLimit            time.Duration // default 4 h
	SIPAuthUsername      string
	SIPAuthPassword      string
	CallerID             string
	SendDigits           string
	// Form is every parameter as received, for what is not modelled here
	// (Record, MachineDetection, Byoc, …).
	Form url.Values
}

// CallUpdate is a validated update of a live call. URL and Twiml are
// exclusive; Status is "", "completed" or "canceled".
type CallUpdate struct {
	AccountSID           string
	CallSID              string
	URL                  string
	Method               string
	Twiml                string
	Status               string
	FallbackURL          string
	FallbackMethod       string
	StatusCallback       string
	StatusCallbackMethod string
	TimeLimit            time.Duration // 0: unchanged
	Form                 url.Values
}

const (
	maxTwimlChars    = 4000 // Twilio: Twiml parameter ≤ 4000 characters (32018)
	maxTimeout       = 600  // seconds (twilio-voice.md §7.4)
	defaultTimeout   = 60
	maxTimeLimit     = 24 * 3600
	defaultTimeLimit = 4 * 3600
	maxSendDigits    = 32
	maxSIPAuthLen    = 255 // 21221/21223: fewer than 256 characters
	maxCallTarget    = 1024
)

var callStatuses = []string{store.CallQueued, store.CallInitiated, store.CallRinging, store.CallInProgress,
	store.CallCompleted, store.CallBusy, store.CallFailed, store.CallNoAnswer, store.CallCanceled}

func listCalls(a *API, q *request) error {
	pr, err := parsePage(q)
	if err != nil {
		return err
	}
	f := store.CallFilter{AccountSID: q.acct.SID, To: q.get("To"), From: q.get("From"),
		Status: q.get("Status"), ParentCallSID: q.get("ParentCallSid")}
	if f.Status != "" && !validOneOf(f.Status, callStatuses) {
		return invalidParam("Status must be one of %s", strings.Join(callStatuses, ", "))
	}
	if f.StartTime, err = timeRange(q, "StartTime"); err != nil {
		return err
	}
	if f.EndTime, err = timeRange(q, "EndTime"); err != nil {
		return err
	}
	items, err := a.st.ListCalls(q.ctx, f, pr.sp)
	if err != nil {
		return listErr(err)
	}
	filters := filtersFrom(q, "To", "From", "ParentCallSid", "Status",
		"StartTime", "StartTime<", "StartTime>", "EndTime", "EndTime<", "EndTime>")
	return writePage(q, "calls", filters, pr, items, func(x store.Call) string { return x.SID }, renderCall)
}

// timeRange reads StartTime/EndTime and their < and > forms (twilio-voice.md
// §7.4): a date (YYYY-MM-DD, UTC) or, as twilio-go sends, an RFC 3339 time.
// "X=d" is the UTC day of d, "X<=d" before d, "X>=d" on or after d.
func timeRange(q *request, name string) (store.TimeRange, error) {
	var r store.TimeRange
	parse := func(key string) (time.Time, bool, bool, error) {
		if !q.has(key) {
			return time.Time{}, false, false, nil
		}
		v := q.get(key)
		if t, err := time.Parse("2006-01-02", v); err == nil {
			return t, true, true, nil
		}
		if t, err := time.Parse(time.RFC3339, v); err == nil {
			return t.UTC(), true, false, nil
		}
		return time.Time{}, false, false, invalidParam("%s must be a date YYYY-MM-DD or an RFC 3339 time (got %s)", key, clip(v))
	}
	on, ok, _, err := parse(name)
	if err != nil {
		return r, err
	}
	if ok {
		day := time.Date(on.Year(), on.Month(), on.Day(), 0, 0, 0, 0, time.UTC)
		r.From, r.To = day, day.AddDate(0, 0, 1)
	}
	before, ok, _, err := parse(name + "<")
	if err != nil {
		return r, err
	}
	if ok && (r.To.IsZero() || before.Before(r.To)) {
		r.To = before
	}
	after, ok, _, err := parse(name + ">")
	if err != nil {
		return r, err
	}
	if ok && after.After(r.From) {
		r.From = after
	}
	return r, nil
}

// ownCall reads the path's call record of the path's account.
func ownCall(a *API, q *request) (store.Call, error) {
	return owned(q, "CA", q.param("Sid"), a.st.Call, func(x store.Call) string { return x.AccountSID }, q.acct.SID)
}

func fetchCall(a *API, q *request) error {
	c, err := ownCall(a, q)
	if err != nil {
		return err
	}
	return q.json(http.StatusOK, renderCall(c))
}

// deleteCall removes a finished call's record; a live call's record would
// be written again by the switch, so it is refused.
func deleteCall(a *API, q *request) error {
	c, err := ownCall(a, q)
	if err != nil {
		return err
	}
	if store.CallLive(c.Status) {
		return badRequest(CodeCallNotInProgress, "Call %s is %s: only a finished call's record can be deleted", c.SID, c.Status)
	}
	if err := a.st.DeleteCall(q.ctx, q.acct.SID, c.SID); err != nil {
		return q.storeErr(err, "delete call")
	}
	return q.noContent()
}

var errNoSwitch = &Error{Status: http.StatusServiceUnavailable, Code: CodeServiceUnavailable,
	Message: "Call control is not available: this tandem runs without a switch"}

func createCall(a *API, q *request) error {
	req, err := a.validateCreateCall(q)
	if err != nil {
		return err
	}
	if a.calls == nil {
		return errNoSwitch
	}
	c, err := a.calls.Create(q.ctx, req)
	if err != nil {
		return fmt.Errorf("create call: %w", err)
	}
	return q.json(http.StatusCreated, renderCall(c))
}

// validateCreateCall checks a create-call request (twilio-voice.md §7.4).
func (a *API) validateCreateCall(q *request) (CallRequest, error) {
	req := CallRequest{
		AccountSID: q.acct.SID, APIVersion: "2010-04-01", Method: "POST", FallbackMethod: "POST",
		StatusCallbackMethod: "POST", Timeout: defaultTimeout * time.Second,
		TimeLimit: defaultTimeLimit * time.Second, Form: q.form,
	}
	req.To, req.From = q.get("To"), q.get("From")
	if req.To == "" {
		return req, badRequest(CodeToRequired, "No 'To' number is specified")
	}
	toKind := callTarget(req.To)
	if toKind == targetInvalid {
		return req, badRequest(CodeInvalidTo, "The 'To' number %s is not a valid phone number, SIP URI or client identifier", clip(req.To))
	}
	if req.From == "" {
		return req, badRequest(CodeFromRequired, "A 'From' phone number is required")
	}
	fromKind := callTarget(req.From)
	// twilio-voice.md §7.4: if To is a phone number, From must be one too.
	if toKind == targetPhone && fromKind != targetPhone || fromKind == targetInvalid && !validCallerToken(req.From) {
		return req, badRequest(CodeInvalidFrom, "The 'From' number %s is not a valid phone number or client identifier", clip(req.From))
	}
	var given []string
	for _, k := range []string{"Url", "Twiml", "ApplicationSid"} {
		if q.get(k) != "" {
			given = append(given, k)
		}
	}
	switch len(given) {
	case 0:
		return req, badRequest(CodeInvalidCallURL, "One of Url, Twiml or ApplicationSid is required")
	case 1:
	default:
		return req, invalidParam("Url, Twiml and ApplicationSid are exclusive; got %s", strings.Join(given, " and "))
	}
	b := binder{q: q, urlCode: CodeInvalidCallURL}
	b.url("Url", &req.URL)
	b.method("Method", &req.Method)
	b.url("FallbackUrl", &req.FallbackURL)
	b.method("FallbackMethod", &req.FallbackMethod)
	b.url("StatusCallback", &req.StatusCallback)
	b.method("StatusCallbackMethod", &req.StatusCallbackMethod)
	b.text("CallerId", 256, &req.CallerID)
	var record bool
	b.boolean("Record", &record)
	if b.err != nil {
		return req, b.err
	}
	if given[0] == "Twiml" {
		if err := checkTwiml(q.get("Twiml")); err != nil {
			return req, err
		}
		req.Twiml = q.get("Twiml")
	}
	if given[0] == "ApplicationSid" {
		app, err := a.reachableApplication(q, q.get("ApplicationSid"))
		if err != nil {
			return req, err
		}
		req.Application = &app
	}
	events, err := statusCallbackEvents(q.form["StatusCallbackEvent"])
	if err != nil {
		return req, err
	}
	req.StatusCallbackEvents = events
	if req.Timeout, err = seconds(q, "Timeout", defaultTimeout, maxTimeout); err != nil {
		return req, err
	}
	if req.TimeLimit, err = seconds(q, "TimeLimit", defaultTimeLimit, maxTimeLimit); err != nil {
		return req, err
	}
	if req.SendDigits = q.get("SendDigits"); !validSendDigits(req.SendDigits) {
		return req, invalidParam("SendDigits must be at most %d of 0-9, A-D, #, *, w and W", maxSendDigits)
	}
	req.SIPAuthUsername, req.SIPAuthPassword = q.get("SipAuthUsername"), q.get("SipAuthPassword")
	if e := checkSIPAuth(req.SIPAuthUsername, req.SIPAuthPassword); e != nil {
		return req, e
	}
	return req, nil
}

// reachableApplication resolves a create-call ApplicationSid: the account's
// own application, or another account's that has
// PublicApplicationConnectEnabled (ARCHITECTURE.md, step 6).
func (a *API) reachableApplication(q *request, sid string) (store.Application, error) {
	if !store.ValidSID("AP", sid) {
		return store.Application{}, badRequest(CodeInvalidAppSID, "ApplicationSid %s is not a valid application SID", clip(sid))
	}
	app, err := a.st.Application(q.ctx, sid)
	if errors.Is(err, store.ErrNotFound) || err == nil && app.AccountSID != q.acct.SID && !app.PublicApplicationConnectEnabled {
		return store.Application{}, badRequest(CodeInvalidAppSID, "ApplicationSid %s is not an application this account can use", sid)
	}
	if err != nil {
		return store.Application{}, fmt.Errorf("application %s: %w", sid, err)
	}
	if app.VoiceURL == "" {
		return store.Application{}, badRequest(CodeInvalidAppSID, "Application %s has no VoiceUrl", sid)
	}
	return app, nil
}

// checkTwiml applies Twilio's 4000-character limit (32018) and parses the
// document with the twiml package, answering with its code (12100, 12102,
// …) and line. Warnings do not refuse a call: Twilio runs past them.
func checkTwiml(doc string) error {
	if n := utf8.RuneCountInString(doc); n > maxTwimlChars {
		return badRequest(CodeTwimlTooLong, "Twiml is %d characters; the limit is %d", n, maxTwimlChars)
	}
	if _, err := twiml.Parse([]byte(doc)); err != nil {
		var te *twiml.Error
		if errors.As(err, &te) {
			if te.Line > 0 {
				return badRequest(te.Code, "Twiml line %d: %s", te.Line, te.Message)
			}
			return badRequest(te.Code, "Twiml: %s", te.Message)
		}
		return badRequest(twiml.CodeParse, "Twiml: %v", err)
	}
	return nil
}

var callbackEvents = []string{"initiated", "ringing", "answered", "completed"}

// statusCallbackEvents reads the repeated StatusCallbackEvent (TwiML also
// allows a space-separated list in one value); the default is completed.
func statusCallbackEvents(vals []string) ([]string, error) {
	var out []string
	for _, v := range vals {
		for _, e := range strings.Fields(v) {
			if !validOneOf(e, callbackEvents) {
				return nil, invalidParam("StatusCallbackEvent %s must be initiated, ringing, answered or completed", clip(e))
			}
			if !validOneOf(e, out) {
				out = append(out, e)
			}
		}
	}
	if len(out) == 0 {
		out = []string{"completed"}
	}
	return out, nil
}

// seconds reads a whole number of seconds in [1, max].
func seconds(q *request, name string, def, max int) (time.Duration, error) {
	if !q.has(name) {
		return time.Duration(def) * time.Second, nil
	}
	n, err := strconv.Atoi(q.get(name))
	if err != nil || n < 1 || n > max {
		return 0, invalidParam("%s must be a whole number of seconds from 1 to %d", name, max)
	}
	return time.Duration(n) * time.Second, nil
}

func validSendDigits(s string) bool {
	if len(s) > maxSendDigits {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'D' || c == '#' || c == '*' || c == 'w' || c == 'W') {
			return false
		}
	}
	return true
}

// checkSIPAuth applies Twilio's SipAuthUsername/SipAuthPassword errors
// (21221–21225).
func checkSIPAuth(user, pass string) *Error {
	if user == "" {
		if pass != "" {
			return invalidParam("SipAuthPassword needs SipAuthUsername")
		}
		return nil
	}
	if len(user) > maxSIPAuthLen {
		return badRequest(CodeSIPUserTooLong, "Invalid SipAuthUsername. Must be fewer than 256 chars")
	}
	if !validSIPUser(user) {
		return badRequest(CodeSIPUserChars, "Invalid SipAuthUsername. Illegal chars")
	}
	if pass == "" {
		return badRequest(CodeSIPPassRequired, "SipAuthPassword is required when providing SipAuthUsername")
	}
	if len(pass) > maxSIPAuthLen {
		return badRequest(CodeSIPPassTooLong, "Invalid SipAuthPassword. Must be fewer than 256 chars")
	}
	for i := 0; i < len(pass); i++ {
		if pass[i] <= ' ' || pass[i] >= 0x7f {
			return badRequest(CodeSIPPassChars, "Invalid SipAuthPassword. Illegal chars")
		}
	}
	return nil
}

// validSIPUser: RFC 3261 §25.1 user = 1*( unreserved / escaped /
// user-unreserved ), escapes not decoded here.
func validSIPUser(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("-_.!~*'()%&=+$,;?/", c) >= 0:
		default:
			return false
		}
	}
	return true
}

type targetKind int

const (
	targetInvalid targetKind = iota
	targetPhone
	targetSIP
	targetClient
)

// callTarget classifies a To or From: E.164, a sip:/sips: URI or a client:
// identifier (both may carry a query string, twilio-voice.md §7.4).
func callTarget(s string) targetKind {
	if validE164(s) {
		return targetPhone
	}
	if len(s) > maxCallTarget {
		return targetInvalid
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return targetInvalid
		}
	}
	lower := strings.ToLower(s)
	switch {
	case strings.HasPrefix(lower, "sip:") || strings.HasPrefix(lower, "sips:"):
		rest := s[strings.IndexByte(s, ':')+1:]
		if i := strings.IndexByte(rest, '?'); i >= 0 {
			rest = rest[:i]
		}
		if i := strings.IndexByte(rest, ';'); i >= 0 {
			rest = rest[:i]
		}
		host := rest
		if at := strings.LastIndexByte(rest, '@'); at >= 0 {
			if at == 0 {
				return targetInvalid
			}
			host = rest[at+1:]
		}
		if !validHostPort(host) {
			return targetInvalid
		}
		return targetSIP
	case strings.HasPrefix(lower, "client:"):
		id := s[len("client:"):]
		if i := strings.IndexByte(id, '?'); i >= 0 {
			id = id[:i]
		}
		if id == "" || strings.ContainsAny(id, ":@<>\"") {
			return targetInvalid
		}
		return targetClient
	}
	return targetInvalid
}

// validHostPort accepts host[:port] with a DNS name, IPv4 or [IPv6].
func validHostPort(h string) bool {
	if h == "" {
		return false
	}
	if strings.HasPrefix(h, "[") {
		end := strings.IndexByte(h, ']')
		if end < 0 {
			return false
		}
		if rest := h[end+1:]; rest != "" && !validPort(strings.TrimPrefix(rest, ":")) || rest != "" && rest[0] != ':' {
			return false
		}
		return strings.Count(h[1:end], ":") >= 2
	}
	if i := strings.LastIndexByte(h, ':'); i >= 0 {
		if !validPort(h[i+1:]) {
			return false
		}
		h = h[:i]
	}
	return validDomainName(h, false)
}

func validPort(p string) bool {
	n, err := strconv.Atoi(p)
	return err == nil && n > 0 && n < 65536
}

// validDomainName: dot-separated labels of letters, digits and inner
// hyphens, at most 253 characters (RFC 1035 §2.3.1, RFC 1123 §2.1). An IPv4
// address also passes. needDot requires at least two labels.
func validDomainName(h string, needDot bool) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	labels := strings.Split(strings.TrimSuffix(h, "."), ".")
	if needDot && len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// validCallerToken is a From that is neither a number nor a URI, which
// Twilio accepts toward SIP and client targets (an alphanumeric caller
// name).
func validCallerToken(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("+-_.", c) >= 0) {
			return false
		}
	}
	return true
}

func updateCall(a *API, q *request) error {
	sid := q.param("Sid")
	if !store.ValidSID("CA", sid) {
		return notFound(clip(q.r.URL.Path))
	}
	// A record that exists and is another account's is 404 here; a call
	// without a record yet (the writer batches) is the switch's to find,
	// and it must check the account too.
	if c, err := a.st.Call(q.ctx, sid); err == nil && c.AccountSID != q.acct.SID {
		return notFound(clip(q.r.URL.Path))
	} else if err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("update call %s: %w", sid, err)
	}
	up := CallUpdate{AccountSID: q.acct.SID, CallSID: sid, Method: "POST", FallbackMethod: "POST",
		StatusCallbackMethod: "POST", Form: q.form}
	if len(q.form) == 0 {
		return invalidParam("Nothing to update: give Url, Twiml or Status")
	}
	if q.get("Url") != "" && q.get("Twiml") != "" {
		return invalidParam("Url and Twiml are exclusive")
	}
	b := binder{q: q, urlCode: CodeInvalidCallURL}
	b.url("Url", &up.URL)
	b.method("Method", &up.Method)
	b.url("FallbackUrl", &up.FallbackURL)
	b.method("FallbackMethod", &up.FallbackMethod)
	b.url("StatusCallback", &up.StatusCallback)
	b.method("StatusCallbackMethod", &up.StatusCallbackMethod)
	b.oneOf("Status", &up.Status, store.CallCompleted, store.CallCanceled)
	if b.err != nil {
		return b.err
	}
	if tw := q.get("Twiml"); tw != "" {
		if err := checkTwiml(tw); err != nil {
			return err
		}
		up.Twiml = tw
	}
	if q.has("TimeLimit") {
		d, err := seconds(q, "TimeLimit", 0, maxTimeLimit)
		if err != nil {
			return err
		}
		up.TimeLimit = d
	}
	if a.calls == nil {
		return errNoSwitch
	}
	c, err := a.calls.Update(q.ctx, up)
	if err != nil {
		return fmt.Errorf("update call %s: %w", sid, err)
	}
	return q.json(http.StatusOK, renderCall(c))
}
