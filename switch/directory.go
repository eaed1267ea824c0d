package callswitch

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound is what a Directory returns for an unknown number, application
// or account.
var ErrNotFound = errors.New("not found")

// Directory is what the switch needs from the store: who owns a number, an
// application's URLs, an account's token (to sign webhooks), and somewhere to
// keep call records. The switch declares it; cmd/tandem adapts the store.
type Directory interface {
	// LookupNumber resolves a dialled E.164 number to its voice
	// configuration with Twilio's precedence applied (twilio-voice.md §7.3:
	// VoiceApplicationSid wins over the number's own VoiceUrl).
	LookupNumber(ctx context.Context, e164 string) (NumberRoute, error)
	// Application returns an application by SID (any account).
	Application(ctx context.Context, sid string) (Application, error)
	// Account returns an account by SID.
	Account(ctx context.Context, sid string) (Account, error)
	// SaveCall stores a call record (insert or update by SID). It may queue
	// the write, but must never lose a record it accepted.
	SaveCall(ctx context.Context, rec CallRecord) error
	// SaveFinalCall stores a call's last record like SaveCall and returns
	// a channel closed once the record can be read back (through the
	// control API): the completed status callback waits for it, so that an
	// application fetching the call on that callback sees it completed.
	SaveFinalCall(ctx context.Context, rec CallRecord) (<-chan struct{}, error)
	// SaveNotification stores a warning or error met on a call (Twilio's
	// Notifications), queued like SaveCall.
	SaveNotification(ctx context.Context, n Notification) error
	// Domain returns one of tandem's SIP domains by name (ErrNotFound when
	// tandem does not serve it).
	Domain(ctx context.Context, name string) (Domain, error)
	// ClientDomains lists the names of the account's SIP domains that take
	// registrations: where <Client> identities are looked up.
	ClientDomains(ctx context.Context, accountSID string) ([]string, error)
}

// Domain is a SIP domain (Twilio's /SIP/Domains): registered clients call
// out through its voice URL and are reached as <Client> or sip:user@domain.
type Domain struct {
	SID                  string
	AccountSID           string
	Name                 string
	VoiceURL             string
	VoiceMethod          string
	VoiceFallbackURL     string
	VoiceFallbackMethod  string
	StatusCallback       string
	StatusCallbackMethod string
	Registration         bool
}

// Notification is a warning or error recorded on a call (a TwiML schema
// warning with its line, a failed webhook, a refused hand-off…), listed by
// the API under the call as Twilio's Notifications.
type Notification struct {
	AccountSID string
	CallSID    string
	ErrorCode  int
	// Warning is true for warnings (log 1), false for errors (log 0).
	Warning     bool
	MessageText string
	Date        time.Time
}

// Account is the part of an account the call path uses.
type Account struct {
	SID       string
	ParentSID string // empty for a main account
	AuthToken string
	Active    bool
}

// Application is where a call's TwiML comes from.
type Application struct {
	SID                             string
	AccountSID                      string
	APIVersion                      string
	VoiceURL                        string
	VoiceMethod                     string
	VoiceFallbackURL                string
	VoiceFallbackMethod             string
	StatusCallback                  string
	StatusCallbackMethod            string
	PublicApplicationConnectEnabled bool
}

// NumberRoute is an incoming number resolved for a call.
type NumberRoute struct {
	NumberSID   string
	AccountSID  string
	PhoneNumber string
	// Voice holds the URLs to use: the application's when the number has a
	// VoiceApplicationSid (Voice.SID is then set), else the number's own.
	Voice Application
	// TrunkSID set means the number belongs to a SIP trunk (no TwiML).
	TrunkSID string
}

// CallRecord is one call leg as the control API shows it (twilio-voice.md
// §7.4). Zero values are unknown (null in the API).
type CallRecord struct {
	SID             string
	AccountSID      string
	ParentCallSID   string
	Direction       string
	From            string
	To              string
	Status          string
	StartTime       time.Time
	EndTime         time.Time
	Duration        int // seconds; valid when HasDuration
	HasDuration     bool
	AnsweredBy      string
	ForwardedFrom   string
	CallerName      string
	SIPCallID       string
	SIPResponseCode int
	ErrorCode       int
	ErrorMessage    string
	PhoneNumberSID  string
	APIVersion      string
	QueueTime       time.Duration
	TrunkSID        string
	DateCreated     time.Time
	DateUpdated     time.Time
}
