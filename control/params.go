package control

import (
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Parameter names accepted per endpoint: twilio-go v1.31.0's
// Create*/Update*Params (rest/api/v2010). Anything else is 20001.
var (
	applicationParams = []string{"FriendlyName", "ApiVersion", "VoiceUrl", "VoiceMethod", "VoiceFallbackUrl",
		"VoiceFallbackMethod", "StatusCallback", "StatusCallbackMethod", "VoiceCallerIdLookup", "SmsUrl",
		"SmsMethod", "SmsFallbackUrl", "SmsFallbackMethod", "SmsStatusCallback", "MessageStatusCallback",
		"PublicApplicationConnectEnabled"}
	numberParams = []string{"ApiVersion", "FriendlyName", "SmsApplicationSid", "SmsFallbackMethod",
		"SmsFallbackUrl", "SmsMethod", "SmsUrl", "StatusCallback", "StatusCallbackMethod",
		"VoiceApplicationSid", "VoiceCallerIdLookup", "VoiceFallbackMethod", "VoiceFallbackUrl", "VoiceMethod",
		"VoiceUrl", "EmergencyStatus", "EmergencyAddressSid", "TrunkSid", "IdentitySid", "AddressSid",
		"VoiceReceiveMode", "BundleSid"}
	createCallParams = []string{"To", "From", "Method", "FallbackUrl", "FallbackMethod", "StatusCallback",
		"StatusCallbackEvent", "StatusCallbackMethod", "SendDigits", "Timeout", "Record", "RecordingChannels",
		"RecordingStatusCallback", "RecordingStatusCallbackMethod", "RecordingConfigurationId",
		"SipAuthUsername", "SipAuthPassword", "MachineDetection", "MachineDetectionTimeout",
		"RecordingStatusCallbackEvent", "Trim", "CallerId", "MachineDetectionSpeechThreshold",
		"MachineDetectionSpeechEndThreshold", "MachineDetectionSilenceTimeout", "AsyncAmd",
		"AsyncAmdStatusCallback", "AsyncAmdStatusCallbackMethod", "Passports", "Byoc", "CallReason",
		"CallToken", "RecordingTrack", "TimeLimit", "ClientNotificationUrl", "Url", "Twiml", "ApplicationSid"}
	updateCallParams = []string{"Url", "Method", "Status", "FallbackUrl", "FallbackMethod", "StatusCallback",
		"StatusCallbackMethod", "Twiml", "TimeLimit"}
	domainParams = []string{"DomainName", "FriendlyName", "VoiceUrl", "VoiceMethod", "VoiceFallbackUrl",
		"VoiceFallbackMethod", "VoiceStatusCallbackUrl", "VoiceStatusCallbackMethod", "SipRegistration",
		"EmergencyCallingEnabled", "Secure", "ByocTrunkSid", "EmergencyCallerSid"}
)

// maxURLLength bounds a webhook URL (Twilio documents none; browsers and
// servers commonly stop near 2-8 kB).
const maxURLLength = 4096

// binder reads optional form parameters into fields, keeping the first
// validation error. A parameter that is absent leaves its field alone, so
// create (defaults first) and update (stored values first) share the code.
type binder struct {
	q   *request
	err *Error
	// urlCode is the code for a bad URL: 21402 for Applications and
	// IncomingPhoneNumbers, 21205 for Calls.
	urlCode int
}

func (b *binder) fail(e *Error) {
	if b.err == nil {
		b.err = e
	}
}

func (b *binder) present(name string) (string, bool) {
	if b.err != nil || !b.q.has(name) {
		return "", false
	}
	return b.q.get(name), true
}

// url binds an absolute http(s) URL; empty clears it.
func (b *binder) url(name string, dst *string) {
	v, ok := b.present(name)
	if !ok {
		return
	}
	if v != "" && !validWebhookURL(v) {
		b.fail(badRequest(b.urlCode, "%s is not a valid URL: %s", name, clip(v)))
		return
	}
	*dst = v
}

// method binds GET or POST (twilio-voice.md §7.2: every method parameter).
func (b *binder) method(name string, dst *string) {
	v, ok := b.present(name)
	if !ok {
		return
	}
	m, good := parseMethod(v)
	if !good {
		b.fail(badRequest(CodeInvalidMethod, "%s must be GET or POST (got %s)", name, clip(v)))
		return
	}
	*dst = m
}

func parseMethod(v string) (string, bool) {
	m := strings.ToUpper(v)
	return m, m == "GET" || m == "POST"
}

// boolean binds true/false (twilio-go sends fmt.Sprint(bool)).
func (b *binder) boolean(name string, dst *bool) {
	v, ok := b.present(name)
	if !ok {
		return
	}
	x, err := strconv.ParseBool(v)
	if err != nil {
		b.fail(invalidParam("%s must be true or false (got %s)", name, clip(v)))
		return
	}
	*dst = x
}

// text binds a string of at most max characters.
func (b *binder) text(name string, max int, dst *string) {
	v, ok := b.present(name)
	if !ok {
		return
	}
	if utf8.RuneCountInString(v) > max {
		b.fail(invalidParam("%s must be at most %d characters", name, max))
		return
	}
	*dst = v
}

// oneOf binds a value from a fixed set.
func (b *binder) oneOf(name string, dst *string, allowed ...string) {
	v, ok := b.present(name)
	if !ok {
		return
	}
	for _, a := range allowed {
		if v == a {
			*dst = v
			return
		}
	}
	b.fail(invalidParam("%s must be one of %s (got %s)", name, strings.Join(allowed, ", "), clip(v)))
}

// sid binds a SID with the prefix; empty clears it.
func (b *binder) sid(name, prefix string, dst *string) {
	v, ok := b.present(name)
	if !ok {
		return
	}
	if v != "" && !validSIDAny(v) || v != "" && v[:2] != prefix {
		b.fail(invalidParam("%s must be a %s SID (got %s)", name, prefix, clip(v)))
		return
	}
	*dst = v
}

// apiVersion binds ApiVersion (twilio-voice.md §7.2: 2010-04-01 or 2008-08-01).
func (b *binder) apiVersion(dst *string) {
	b.oneOf("ApiVersion", dst, "2010-04-01", "2008-08-01")
}

// validWebhookURL accepts an absolute http or https URL with a host, no
// white space or control characters.
func validWebhookURL(s string) bool {
	if len(s) > maxURLLength {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] == 0x7f {
			return false
		}
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return false
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return false
	}
	host := u.Hostname()
	return host != "" && !strings.ContainsAny(host, "_")
}

// validE164 is '+', a non-zero digit, and up to 14 more digits (ITU-T E.164:
// at most 15 digits).
func validE164(s string) bool {
	if len(s) < 3 || len(s) > 16 || s[0] != '+' || s[1] < '1' || s[1] > '9' {
		return false
	}
	for i := 2; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
