package control

import (
	"strconv"
	"time"

	"tandem/control/store"
)

// Representations follow twilio-go v1.31.0's models (rest/api/v2010/model_*)
// and twilio-voice.md §7: snake_case keys, RFC 2822 dates, strings for
// duration, price and queue_time, null for what is unknown, uri relative to
// the API root.

const apiRoot = "/2010-04-01"

// rfc2822 formats a date as Twilio does ("Tue, 31 Aug 2010 20:36:28 +0000");
// nil (null) when unknown.
func rfc2822(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.UTC().Format(time.RFC1123Z)
	return &s
}

// opt is null for an empty string.
func opt(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func accountURI(sid string) string { return apiRoot + "/Accounts/" + sid + ".json" }

func underAccount(account, rest string) string { return apiRoot + "/Accounts/" + account + rest }

type accountJSON struct {
	AuthToken       string            `json:"auth_token"`
	DateCreated     *string           `json:"date_created"`
	DateUpdated     *string           `json:"date_updated"`
	FriendlyName    string            `json:"friendly_name"`
	OwnerAccountSid string            `json:"owner_account_sid"`
	Sid             string            `json:"sid"`
	Status          string            `json:"status"`
	SubresourceUris map[string]string `json:"subresource_uris"`
	Type            string            `json:"type"`
	URI             string            `json:"uri"`
}

// accountSubresources are the keys Twilio gives an Account.
var accountSubresources = [][2]string{
	{"addresses", "/Addresses.json"}, {"conferences", "/Conferences.json"},
	{"signing_keys", "/SigningKeys.json"}, {"transcriptions", "/Transcriptions.json"},
	{"connect_apps", "/ConnectApps.json"}, {"sip", "/SIP.json"},
	{"authorized_connect_apps", "/AuthorizedConnectApps.json"}, {"usage", "/Usage.json"},
	{"keys", "/Keys.json"}, {"applications", "/Applications.json"}, {"recordings", "/Recordings.json"},
	{"short_codes", "/SMS/ShortCodes.json"}, {"calls", "/Calls.json"}, {"notifications", "/Notifications.json"},
	{"incoming_phone_numbers", "/IncomingPhoneNumbers.json"}, {"queues", "/Queues.json"},
	{"messages", "/Messages.json"}, {"outgoing_caller_ids", "/OutgoingCallerIds.json"},
	{"available_phone_numbers", "/AvailablePhoneNumbers.json"}, {"balance", "/Balance.json"},
}

func subresources(base string, keys [][2]string) map[string]string {
	m := make(map[string]string, len(keys))
	for _, k := range keys {
		m[k[0]] = base + k[1]
	}
	return m
}

func renderAccount(a store.Account) accountJSON {
	return accountJSON{
		AuthToken: a.AuthToken, DateCreated: rfc2822(a.DateCreated), DateUpdated: rfc2822(a.DateUpdated),
		FriendlyName: a.FriendlyName, OwnerAccountSid: a.OwnerSID, Sid: a.SID, Status: a.Status,
		SubresourceUris: subresources(apiRoot+"/Accounts/"+a.SID, accountSubresources),
		Type:            a.Type, URI: accountURI(a.SID),
	}
}

type applicationJSON struct {
	AccountSid                      string  `json:"account_sid"`
	APIVersion                      string  `json:"api_version"`
	DateCreated                     *string `json:"date_created"`
	DateUpdated                     *string `json:"date_updated"`
	FriendlyName                    string  `json:"friendly_name"`
	MessageStatusCallback           *string `json:"message_status_callback"`
	Sid                             string  `json:"sid"`
	SmsFallbackMethod               string  `json:"sms_fallback_method"`
	SmsFallbackURL                  *string `json:"sms_fallback_url"`
	SmsMethod                       string  `json:"sms_method"`
	SmsStatusCallback               *string `json:"sms_status_callback"`
	SmsURL                          *string `json:"sms_url"`
	StatusCallback                  *string `json:"status_callback"`
	StatusCallbackMethod            string  `json:"status_callback_method"`
	URI                             string  `json:"uri"`
	VoiceCallerIDLookup             bool    `json:"voice_caller_id_lookup"`
	VoiceFallbackMethod             string  `json:"voice_fallback_method"`
	VoiceFallbackURL                *string `json:"voice_fallback_url"`
	VoiceMethod                     string  `json:"voice_method"`
	VoiceURL                        *string `json:"voice_url"`
	PublicApplicationConnectEnabled bool    `json:"public_application_connect_enabled"`
}

func renderApplication(a store.Application) applicationJSON {
	return applicationJSON{
		AccountSid: a.AccountSID, APIVersion: a.APIVersion, DateCreated: rfc2822(a.DateCreated),
		DateUpdated: rfc2822(a.DateUpdated), FriendlyName: a.FriendlyName,
		MessageStatusCallback: opt(a.MessageStatusCallback), Sid: a.SID,
		SmsFallbackMethod: a.SMSFallbackMethod, SmsFallbackURL: opt(a.SMSFallbackURL), SmsMethod: a.SMSMethod,
		SmsStatusCallback: opt(a.SMSStatusCallback), SmsURL: opt(a.SMSURL),
		StatusCallback: opt(a.StatusCallback), StatusCallbackMethod: a.StatusCallbackMethod,
		URI:                 underAccount(a.AccountSID, "/Applications/"+a.SID+".json"),
		VoiceCallerIDLookup: a.VoiceCallerIDLookup, VoiceFallbackMethod: a.VoiceFallbackMethod,
		VoiceFallbackURL: opt(a.VoiceFallbackURL), VoiceMethod: a.VoiceMethod, VoiceURL: opt(a.VoiceURL),
		PublicApplicationConnectEnabled: a.PublicApplicationConnectEnabled,
	}
}

type capabilitiesJSON struct {
	Voice bool `json:"voice"`
	SMS   bool `json:"sms"`
	MMS   bool `json:"mms"`
	Fax   bool `json:"fax"`
}

type numberJSON struct {
	AccountSid             string            `json:"account_sid"`
	AddressSid             *string           `json:"address_sid"`
	AddressRequirements    string            `json:"address_requirements"`
	APIVersion             string            `json:"api_version"`
	Beta                   bool              `json:"beta"`
	Capabilities           capabilitiesJSON  `json:"capabilities"`
	DateCreated            *string           `json:"date_created"`
	DateUpdated            *string           `json:"date_updated"`
	FriendlyName           string            `json:"friendly_name"`
	IdentitySid            *string           `json:"identity_sid"`
	PhoneNumber            string            `json:"phone_number"`
	Origin                 string            `json:"origin"`
	Sid                    string            `json:"sid"`
	SmsApplicationSid      *string           `json:"sms_application_sid"`
	SmsFallbackMethod      string            `json:"sms_fallback_method"`
	SmsFallbackURL         *string           `json:"sms_fallback_url"`
	SmsMethod              string            `json:"sms_method"`
	SmsURL                 *string           `json:"sms_url"`
	StatusCallback         *string           `json:"status_callback"`
	StatusCallbackMethod   string            `json:"status_callback_method"`
	TrunkSid               *string           `json:"trunk_sid"`
	URI                    string            `json:"uri"`
	VoiceReceiveMode       string            `json:"voice_receive_mode"`
	VoiceApplicationSid    *string           `json:"voice_application_sid"`
	VoiceCallerIDLookup    bool              `json:"voice_caller_id_lookup"`
	VoiceFallbackMethod    string            `json:"voice_fallback_method"`
	VoiceFallbackURL       *string           `json:"voice_fallback_url"`
	VoiceMethod            string            `json:"voice_method"`
	VoiceURL               *string           `json:"voice_url"`
	EmergencyStatus        string            `json:"emergency_status"`
	EmergencyAddressSid    *string           `json:"emergency_address_sid"`
	EmergencyAddressStatus string            `json:"emergency_address_status"`
	BundleSid              *string           `json:"bundle_sid"`
	Status                 string            `json:"status"`
	Type                   string            `json:"type"`
	SubresourceUris        map[string]string `json:"subresource_uris"`
}

func renderNumber(n store.PhoneNumber) numberJSON {
	uri := underAccount(n.AccountSID, "/IncomingPhoneNumbers/"+n.SID)
	return numberJSON{
		AccountSid: n.AccountSID, AddressSid: opt(n.AddressSID), AddressRequirements: n.AddressRequirements,
		APIVersion: n.APIVersion, Beta: n.Beta,
		Capabilities: capabilitiesJSON{Voice: n.Capabilities.Voice, SMS: n.Capabilities.SMS, MMS: n.Capabilities.MMS, Fax: n.Capabilities.Fax},
		DateCreated:  rfc2822(n.DateCreated), DateUpdated: rfc2822(n.DateUpdated), FriendlyName: n.FriendlyName,
		IdentitySid: opt(n.IdentitySID), PhoneNumber: n.PhoneNumber, Origin: n.Origin, Sid: n.SID,
		SmsApplicationSid: opt(n.SMSApplicationSID), SmsFallbackMethod: n.SMSFallbackMethod,
		SmsFallbackURL: opt(n.SMSFallbackURL), SmsMethod: n.SMSMethod, SmsURL: opt(n.SMSURL),
		StatusCallback: opt(n.StatusCallback), StatusCallbackMethod: n.StatusCallbackMethod,
		TrunkSid: opt(n.TrunkSID), URI: uri + ".json", VoiceReceiveMode: n.VoiceReceiveMode,
		VoiceApplicationSid: opt(n.VoiceApplicationSID), VoiceCallerIDLookup: n.VoiceCallerIDLookup,
		VoiceFallbackMethod: n.VoiceFallbackMethod, VoiceFallbackURL: opt(n.VoiceFallbackURL),
		VoiceMethod: n.VoiceMethod, VoiceURL: opt(n.VoiceURL), EmergencyStatus: n.EmergencyStatus,
		EmergencyAddressSid: opt(n.EmergencyAddressSID), EmergencyAddressStatus: n.EmergencyAddressStatus,
		BundleSid: opt(n.BundleSID), Status: n.Status, Type: n.Type,
		SubresourceUris: map[string]string{"assigned_add_ons": uri + "/AssignedAddOns.json"},
	}
}

type callJSON struct {
	Sid             string            `json:"sid"`
	DateCreated     *string           `json:"date_created"`
	DateUpdated     *string           `json:"date_updated"`
	ParentCallSid   *string           `json:"parent_call_sid"`
	AccountSid      string            `json:"account_sid"`
	To              string            `json:"to"`
	ToFormatted     string            `json:"to_formatted"`
	From            string            `json:"from"`
	FromFormatted   string            `json:"from_formatted"`
	PhoneNumberSid  *string           `json:"phone_number_sid"`
	Status          string            `json:"status"`
	StartTime       *string           `json:"start_time"`
	EndTime         *string           `json:"end_time"`
	Duration        *string           `json:"duration"`
	Price           *string           `json:"price"`
	PriceUnit       *string           `json:"price_unit"`
	Direction       string            `json:"direction"`
	AnsweredBy      *string           `json:"answered_by"`
	APIVersion      string            `json:"api_version"`
	ForwardedFrom   *string           `json:"forwarded_from"`
	GroupSid        *string           `json:"group_sid"`
	CallerName      *string           `json:"caller_name"`
	QueueTime       *string           `json:"queue_time"`
	TrunkSid        *string           `json:"trunk_sid"`
	URI             string            `json:"uri"`
	SubresourceUris map[string]string `json:"subresource_uris"`
}

// callSubresources are the keys Twilio gives a Call (twilio-voice.md §7.4).
var callSubresources = [][2]string{
	{"notifications", "/Notifications.json"}, {"recordings", "/Recordings.json"},
	{"payments", "/Payments.json"}, {"events", "/Events.json"}, {"siprec", "/Siprec.json"},
	{"streams", "/Streams.json"}, {"transcriptions", "/Transcriptions.json"},
	{"user_defined_message_subscriptions", "/UserDefinedMessageSubscriptions.json"},
	{"user_defined_messages", "/UserDefinedMessages.json"},
}

func optInt(v int64, ok bool) *string {
	if !ok {
		return nil
	}
	s := strconv.FormatInt(v, 10)
	return &s
}

func renderCall(c store.Call) callJSON {
	uri := underAccount(c.AccountSID, "/Calls/"+c.SID)
	toF, fromF := c.ToFormatted, c.FromFormatted
	if toF == "" {
		toF = formatNumber(c.To)
	}
	if fromF == "" {
		fromF = formatNumber(c.From)
	}
	apiVersion := c.APIVersion
	if apiVersion == "" {
		apiVersion = "2010-04-01"
	}
	return callJSON{
		Sid: c.SID, DateCreated: rfc2822(c.DateCreated), DateUpdated: rfc2822(c.DateUpdated),
		ParentCallSid: opt(c.ParentCallSID), AccountSid: c.AccountSID, To: c.To, ToFormatted: toF,
		From: c.From, FromFormatted: fromF, PhoneNumberSid: opt(c.PhoneNumberSID), Status: c.Status,
		StartTime: rfc2822(c.StartTime), EndTime: rfc2822(c.EndTime),
		Duration:  optInt(c.Duration.V, c.Duration.Valid),
		Direction: c.Direction, AnsweredBy: opt(c.AnsweredBy), APIVersion: apiVersion,
		ForwardedFrom: opt(c.ForwardedFrom), GroupSid: opt(c.GroupSID), CallerName: opt(c.CallerName),
		QueueTime: optInt(c.QueueTime.V, c.QueueTime.Valid), TrunkSid: opt(c.TrunkSID),
		URI: uri + ".json", SubresourceUris: subresources(uri, callSubresources),
	}
}

// formatNumber renders a North American E.164 number as Twilio's
// *_formatted fields do ("(415) 555-1212"); anything else unchanged.
func formatNumber(s string) string {
	if len(s) != 12 || s[:2] != "+1" {
		return s
	}
	for i := 2; i < 12; i++ {
		if s[i] < '0' || s[i] > '9' {
			return s
		}
	}
	return "(" + s[2:5] + ") " + s[5:8] + "-" + s[8:]
}
