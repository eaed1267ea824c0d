// Package control is tandem's REST control API, shaped like Twilio's
// 2010-04-01 API so that unchanged Twilio helper libraries work: Accounts
// (and subaccounts), Applications, IncomingPhoneNumbers, Calls, the
// Notifications recorded on calls (read-only), SIP Domains, credential
// lists, credentials and credential-list mappings.
//
// New builds the API over a store.Store and a Calls (the switch, reached
// only through that interface); API is an http.Handler that the daemon runs
// with Config.HTTPServer. Requests authenticate with HTTP Basic
// AccountSid:AuthToken; a parent account acts on its subaccounts, a
// subaccount sees nothing of its parent's or siblings' resources (404).
// Errors answer with Twilio's body and codes (twilio-voice.md §7.1, §8.3).
package control
