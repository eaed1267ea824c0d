// Package control is tandem's REST control API, shaped like Twilio's
// 2010-04-01 API: Accounts, Applications, IncomingPhoneNumbers and Calls.
package control
