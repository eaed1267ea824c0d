package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// Sentinel errors. Implementations wrap them with context; callers test with
// errors.Is.
var (
	// ErrNotFound: no row with that key (or not in the account given).
	ErrNotFound = errors.New("not found")
	// ErrDuplicate: a unique key (phone number, domain name, username in a
	// credential list, mapping) is already taken.
	ErrDuplicate = errors.New("already exists")
	// ErrBadPageToken: a PageToken names a row that no longer exists or is
	// not a token at all.
	ErrBadPageToken = errors.New("invalid page token")
	// ErrClosed: the store or writer has been closed.
	ErrClosed = errors.New("closed")
	// ErrInvalid: a record the call path handed over cannot be stored as
	// given (a malformed SID, an unknown log level). It is refused when
	// queued, so that it never holds up a batch.
	ErrInvalid = errors.New("invalid record")
)

// Account statuses (Twilio's Account resource).
const (
	AccountActive    = "active"
	AccountSuspended = "suspended"
	AccountClosed    = "closed"
)

// Call statuses (twilio-voice.md §3.5).
const (
	CallQueued     = "queued"
	CallInitiated  = "initiated"
	CallRinging    = "ringing"
	CallInProgress = "in-progress"
	CallCompleted  = "completed"
	CallBusy       = "busy"
	CallFailed     = "failed"
	CallNoAnswer   = "no-answer"
	CallCanceled   = "canceled"
)

// CallLive reports whether a call in this status may still change: the
// statuses a crash leaves behind (ARCHITECTURE.md "State").
func CallLive(status string) bool {
	switch status {
	case CallQueued, CallInitiated, CallRinging, CallInProgress:
		return true
	}
	return false
}

// Account is a main account (OwnerSID == SID) or a subaccount (OwnerSID names
// its parent).
type Account struct {
	SID          string
	OwnerSID     string
	FriendlyName string
	Status       string // AccountActive | AccountSuspended | AccountClosed
	Type         string // "Full" or "Trial"
	AuthToken    string
	DateCreated  time.Time
	DateUpdated  time.Time
}

// IsMain reports whether the account is a main (top-level) account.
func (a Account) IsMain() bool { return a.OwnerSID == a.SID }

// Application is twilio-voice.md §7.2.
type Application struct {
	SID                             string
	AccountSID                      string
	FriendlyName                    string
	APIVersion                      string
	VoiceURL                        string
	VoiceMethod                     string
	VoiceFallbackURL                string
	VoiceFallbackMethod             string
	StatusCallback                  string
	StatusCallbackMethod            string
	VoiceCallerIDLookup             bool
	SMSURL                          string
	SMSMethod                       string
	SMSFallbackURL                  string
	SMSFallbackMethod               string
	SMSStatusCallback               string
	MessageStatusCallback           string
	PublicApplicationConnectEnabled bool
	DateCreated                     time.Time
	DateUpdated                     time.Time
}

// Capabilities of a phone number.
type Capabilities struct {
	Voice, SMS, MMS, Fax bool
}

// PhoneNumber is an IncomingPhoneNumber (twilio-voice.md §7.3). Empty strings
// are unset values (null in the API).
type PhoneNumber struct {
	SID                    string
	AccountSID             string
	PhoneNumber            string // E.164, unique
	FriendlyName           string
	APIVersion             string
	Beta                   bool
	Capabilities           Capabilities
	VoiceURL               string
	VoiceMethod            string
	VoiceFallbackURL       string
	VoiceFallbackMethod    string
	VoiceApplicationSID    string
	VoiceCallerIDLookup    bool
	VoiceReceiveMode       string
	StatusCallback         string
	StatusCallbackMethod   string
	SMSURL                 string
	SMSMethod              string
	SMSFallbackURL         string
	SMSFallbackMethod      string
	SMSApplicationSID      string
	TrunkSID               string
	AddressSID             string
	AddressRequirements    string
	IdentitySID            string
	BundleSID              string
	EmergencyStatus        string
	EmergencyAddressSID    string
	EmergencyAddressStatus string
	Origin                 string
	Status                 string
	Type                   string
	DateCreated            time.Time
	DateUpdated            time.Time
}

// VoiceConfig is where an incoming call's TwiML comes from once the §7.3
// precedence has been applied.
type VoiceConfig struct {
	URL                  string
	Method               string
	FallbackURL          string
	FallbackMethod       string
	StatusCallback       string
	StatusCallbackMethod string
	CallerIDLookup       bool
	APIVersion           string
	// ApplicationSID is set when the number's VoiceApplicationSid supplied
	// the configuration.
	ApplicationSID string
	// TrunkSID is set when the number belongs to a trunk: per §7.3 the
	// trunk's settings win and every URL above is empty.
	TrunkSID string
}

// NumberRoute is what the call path needs for an incoming call to a number:
// the number, its account and, when VoiceApplicationSid is set, that
// application.
type NumberRoute struct {
	Number         PhoneNumber
	Account        Account
	Application    Application
	HasApplication bool
}

// Voice applies twilio-voice.md §7.3 routing precedence: trunk_sid wins over
// everything, then voice_application_sid's application, then the number's
// own voice URLs.
func (r NumberRoute) Voice() VoiceConfig {
	n := r.Number
	if n.TrunkSID != "" {
		return VoiceConfig{TrunkSID: n.TrunkSID, APIVersion: n.APIVersion}
	}
	if r.HasApplication {
		a := r.Application
		return VoiceConfig{
			URL: a.VoiceURL, Method: a.VoiceMethod,
			FallbackURL: a.VoiceFallbackURL, FallbackMethod: a.VoiceFallbackMethod,
			StatusCallback: a.StatusCallback, StatusCallbackMethod: a.StatusCallbackMethod,
			CallerIDLookup: a.VoiceCallerIDLookup, APIVersion: a.APIVersion,
			ApplicationSID: a.SID,
		}
	}
	return VoiceConfig{
		URL: n.VoiceURL, Method: n.VoiceMethod,
		FallbackURL: n.VoiceFallbackURL, FallbackMethod: n.VoiceFallbackMethod,
		StatusCallback: n.StatusCallback, StatusCallbackMethod: n.StatusCallbackMethod,
		CallerIDLookup: n.VoiceCallerIDLookup, APIVersion: n.APIVersion,
	}
}

// Call is one call leg's record (twilio-voice.md §7.4) plus what the call path
// records about it. Zero times and empty strings are unknown (null in the
// API).
type Call struct {
	SID           string
	AccountSID    string
	ParentCallSID string
	Direction     string // inbound | outbound-api | outbound-dial | trunking-*
	From          string
	To            string
	FromFormatted string
	ToFormatted   string
	Status        string
	StartTime     time.Time
	EndTime       time.Time
	// Duration in seconds; Valid only once known (Twilio leaves it empty for
	// unanswered and ongoing calls).
	Duration        sql.Null[int64]
	AnsweredBy      string
	ForwardedFrom   string
	CallerName      string
	SIPCallID       string
	SIPResponseCode int
	// ErrorCode and ErrorMessage: the last warning or error recorded on the
	// call (e.g. 11200 HTTP retrieval failure, 12200 schema warning).
	ErrorCode      int
	ErrorMessage   string
	PhoneNumberSID string
	APIVersion     string
	// QueueTime in milliseconds, when known.
	QueueTime   sql.Null[int64]
	TrunkSID    string
	GroupSID    string
	DateCreated time.Time
	DateUpdated time.Time
}

// Notification log levels: Twilio's Notification "log" field, 0 for an
// error and 1 for a warning (twilio-go ApiV2010Notification.Log).
const (
	NotificationError   = 0
	NotificationWarning = 1
)

// Notification is a warning or error the call path met on a call (or on the
// account, with no call): Twilio's Notification resource, listed under the
// account and under the call (twilio-go ApiV2010NotificationInstance). It is
// a log entry: once saved it does not change.
type Notification struct {
	// SID is "NO" + 32 hex digits; empty is filled when it is saved.
	SID        string
	AccountSID string
	// CallSID is the call it was recorded on; empty for an account-level one.
	CallSID    string
	APIVersion string
	// ErrorCode is Twilio's error code (twilio-voice.md §8.3: 11200 HTTP
	// retrieval failure, 12200 schema warning, 13xxx invalid attribute…).
	ErrorCode int
	// Log is NotificationError or NotificationWarning.
	Log         int
	MessageText string
	// MessageDate is when the call path met it; zero means when it is
	// written. Twilio keeps it apart from date_created because messages are
	// buffered, as the CallWriter does.
	MessageDate time.Time
	// MoreInfo defaults to https://www.twilio.com/docs/errors/<ErrorCode>.
	MoreInfo string
	// The webhook exchange that caused it, when there was one: the method and
	// URL requested, the form-encoded parameters sent, and what came back
	// (headers form-encoded as Twilio shows them; either may be empty). Each
	// text field is cut to MaxNotificationText bytes.
	RequestMethod    string
	RequestURL       string
	RequestVariables string
	ResponseBody     string
	ResponseHeaders  string
	// DateCreated and DateUpdated: zero means when it is written.
	DateCreated time.Time
	DateUpdated time.Time
}

// NotificationFilter filters ListNotifications (twilio-go
// ListNotificationParams); empty strings match anything.
type NotificationFilter struct {
	AccountSID string
	CallSID    string
	// Log: nil lists both levels; otherwise only that level.
	Log         *int
	MessageDate TimeRange
}

// Page selects one page of a list. Lists are in a fixed order per resource;
// After and Before are SIDs of rows on the neighbouring page (Twilio's
// PageToken "PA"+SID and "PB"+SID). With neither, Offset rows are skipped.
type Page struct {
	Size   int
	After  string
	Before string
	Offset int
}

// AccountFilter filters ListAccounts; empty strings match anything.
type AccountFilter struct {
	// Family: the account with this SID and every account it owns.
	Family       string
	FriendlyName string
	Status       string
}

// ApplicationFilter filters ListApplications.
type ApplicationFilter struct {
	AccountSID   string
	FriendlyName string
}

// PhoneNumberFilter filters ListPhoneNumbers. PhoneNumber matches a
// substring in which '*' stands for any one character (Twilio: "partial, with
// * matching one digit").
type PhoneNumberFilter struct {
	AccountSID   string
	FriendlyName string
	PhoneNumber  string
	Origin       string
	// Beta: nil lists every number; otherwise only numbers with that flag.
	Beta *bool
}

// TimeRange is a half-open interval [From, To); zero ends are unbounded.
type TimeRange struct {
	From, To time.Time
}

// CallFilter filters ListCalls (twilio-voice.md §7.4 List).
type CallFilter struct {
	AccountSID    string
	To            string
	From          string
	Status        string
	ParentCallSID string
	StartTime     TimeRange
	EndTime       TimeRange
}

// Accounts holds main accounts and subaccounts.
type Accounts interface {
	// EnsureMainAccount creates the main account when the store holds no
	// account at all (first start) and reports whether it did. An empty SID
	// or AuthToken is generated. When accounts exist it returns the main
	// account; a non-empty SID or AuthToken that differs from the stored one
	// is an error, so that a changed configuration is not silently ignored.
	EnsureMainAccount(ctx context.Context, main Account) (Account, bool, error)
	CreateAccount(ctx context.Context, a Account) error
	Account(ctx context.Context, sid string) (Account, error)
	ListAccounts(ctx context.Context, f AccountFilter, p Page) ([]Account, error)
	// UpdateAccount writes FriendlyName, Status and DateUpdated.
	UpdateAccount(ctx context.Context, a Account) error
}

// Applications holds Applications.
type Applications interface {
	CreateApplication(ctx context.Context, a Application) error
	Application(ctx context.Context, sid string) (Application, error)
	ListApplications(ctx context.Context, f ApplicationFilter, p Page) ([]Application, error)
	// UpdateApplication rewrites every field but SID, AccountSID and
	// DateCreated.
	UpdateApplication(ctx context.Context, a Application) error
	// DeleteApplication deletes an application of the account; numbers that
	// pointed at it lose their VoiceApplicationSid/SmsApplicationSid.
	DeleteApplication(ctx context.Context, accountSID, sid string) error
}

// PhoneNumbers holds IncomingPhoneNumbers.
type PhoneNumbers interface {
	CreatePhoneNumber(ctx context.Context, n PhoneNumber) error
	PhoneNumber(ctx context.Context, sid string) (PhoneNumber, error)
	ListPhoneNumbers(ctx context.Context, f PhoneNumberFilter, p Page) ([]PhoneNumber, error)
	// UpdatePhoneNumber rewrites every field but SID, PhoneNumber and
	// DateCreated (AccountSID may change: a number moved between accounts).
	UpdatePhoneNumber(ctx context.Context, n PhoneNumber) error
	DeletePhoneNumber(ctx context.Context, accountSID, sid string) error
	// LookupNumber finds the number an incoming call is for, with its account
	// and application.
	LookupNumber(ctx context.Context, e164 string) (NumberRoute, error)
}

// Calls holds call records.
type Calls interface {
	// SaveCalls inserts or updates (by SID) every record in one transaction.
	// DateCreated of an existing record is kept.
	SaveCalls(ctx context.Context, calls []Call) error
	Call(ctx context.Context, sid string) (Call, error)
	ListCalls(ctx context.Context, f CallFilter, p Page) ([]Call, error)
	// DeleteCall deletes a call's record and its notifications.
	DeleteCall(ctx context.Context, accountSID, sid string) error
	// FailInterruptedCalls marks every call left queued, initiated, ringing
	// or in progress as failed, ended at the given time, and returns how many
	// it changed. Run at start: live calls do not survive a crash.
	FailInterruptedCalls(ctx context.Context, at time.Time) (int64, error)
}

// Notifications holds the warnings and errors recorded on calls. There is
// no foreign key to calls: a notification may be written before its call's
// record (the writer batches both), and the writer must never lose one to a
// constraint. DeleteCall deletes the call's notifications with it.
type Notifications interface {
	// SaveRecords writes call records (as SaveCalls does) and notifications
	// in one transaction: the CallWriter's batch. Every notification is
	// checked before anything is written (ErrInvalid); one whose SID is
	// already stored is kept as first saved.
	SaveRecords(ctx context.Context, calls []Call, notifications []Notification) error
	// SaveNotifications is SaveRecords without call records.
	SaveNotifications(ctx context.Context, notifications []Notification) error
	Notification(ctx context.Context, sid string) (Notification, error)
	// ListNotifications lists newest first (by when they were written).
	ListNotifications(ctx context.Context, f NotificationFilter, p Page) ([]Notification, error)
	DeleteNotification(ctx context.Context, accountSID, sid string) error
}

// Store is tandem's durable state. The SQLite implementation is the default;
// the interface is what a PostgreSQL implementation would satisfy.
type Store interface {
	Accounts
	Applications
	PhoneNumbers
	Calls
	Notifications
	SIP
	Close() error
}
