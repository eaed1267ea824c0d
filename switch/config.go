package callswitch

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Config is the call-control section (`calls:` in tandem.yaml).
type Config struct {
	// RejectBusyCode and RejectRejectedCode are the SIP answers to
	// <Reject reason="busy"> and <Reject reason="rejected"> on an unanswered
	// inbound call. Twilio's pages disagree on "rejected" (404 today, 603
	// before; twilio-voice.md §8.1): 603 Decline is the default.
	RejectBusyCode     int `yaml:"reject_busy_code"`
	RejectRejectedCode int `yaml:"reject_rejected_code"`
	// AppErrorCode is the SIP answer when an unanswered call's TwiML cannot be
	// fetched or run and there is no fallback (Twilio plays "an application
	// error has occurred" and hangs up; with no media verbs yet, tandem
	// answers with this code).
	AppErrorCode int `yaml:"app_error_code"`
	// Codecs are offered, in order, on calls tandem starts itself (REST
	// calls): names from the static RTP/AVP table or telephone-event.
	Codecs []string `yaml:"codecs"`
	// MaxDocuments bounds how many TwiML documents one call may run
	// (Redirect and action loops).
	MaxDocuments int `yaml:"max_documents"`
	// MaxCallDuration ends any call after this long (Twilio: 4 hours).
	MaxCallDuration time.Duration `yaml:"max_call_duration"`
	// MaxApplicationDepth bounds <Dial><Application> nesting (A → B → C …).
	MaxApplicationDepth int `yaml:"max_application_depth"`
	// CustomParameterBytes is Twilio's guideline for the total size of a
	// call's custom parameters; beyond it a warning is recorded on the call.
	CustomParameterBytes int `yaml:"custom_parameter_bytes"`
	// ClientMedia selects the media ports of legs to registered clients,
	// which may be behind NAT: "dedicated" (a port pair each, latching) or
	// "shared".
	ClientMedia string `yaml:"client_media"`
}

// DefaultConfig returns Twilio's behaviour where Twilio documents it.
func DefaultConfig() Config {
	return Config{
		RejectBusyCode:       486,
		RejectRejectedCode:   603,
		AppErrorCode:         500,
		Codecs:               []string{"PCMU", "PCMA", "telephone-event"},
		MaxDocuments:         100,
		MaxCallDuration:      4 * time.Hour,
		MaxApplicationDepth:  5,
		CustomParameterBytes: 800,
		ClientMedia:          "dedicated",
	}
}

// Validate names the key that is wrong.
func (c Config) Validate() error {
	var errs []error
	code := func(key string, v, lo, hi int) {
		if v < lo || v > hi {
			errs = append(errs, fmt.Errorf("%s: must be a SIP final code %d–%d (got %d)", key, lo, hi, v))
		}
	}
	code("reject_busy_code", c.RejectBusyCode, 400, 699)
	code("reject_rejected_code", c.RejectRejectedCode, 400, 699)
	code("app_error_code", c.AppErrorCode, 400, 699)
	if len(c.Codecs) == 0 {
		errs = append(errs, errors.New("codecs: must list at least one codec"))
	}
	audio := 0
	for i, name := range c.Codecs {
		if _, ok := lookupCodec(name); !ok {
			errs = append(errs, fmt.Errorf("codecs[%d]: unknown codec %q (known: %s)", i, name, strings.Join(codecNames(), ", ")))
		} else if !strings.EqualFold(name, "telephone-event") {
			audio++
		}
	}
	if len(c.Codecs) > 0 && audio == 0 {
		errs = append(errs, errors.New("codecs: must list an audio codec, not only telephone-event"))
	}
	if c.MaxDocuments < 1 {
		errs = append(errs, fmt.Errorf("max_documents: must be at least 1 (got %d)", c.MaxDocuments))
	}
	if c.MaxCallDuration < time.Second {
		errs = append(errs, fmt.Errorf("max_call_duration: must be at least 1s (got %s)", c.MaxCallDuration))
	}
	if c.MaxApplicationDepth < 1 || c.MaxApplicationDepth > 20 {
		errs = append(errs, fmt.Errorf("max_application_depth: must be 1–20 (got %d)", c.MaxApplicationDepth))
	}
	if c.CustomParameterBytes < 0 {
		errs = append(errs, fmt.Errorf("custom_parameter_bytes: must not be negative (got %d)", c.CustomParameterBytes))
	}
	switch c.ClientMedia {
	case "dedicated", "shared":
	default:
		errs = append(errs, fmt.Errorf("client_media: must be dedicated or shared (got %q)", c.ClientMedia))
	}
	return errors.Join(errs...)
}
