package control

import (
	"fmt"
	"net/http"

	"tandem/control/store"
)

func listApplications(a *API, q *request) error {
	pr, err := parsePage(q)
	if err != nil {
		return err
	}
	items, err := a.st.ListApplications(q.ctx, store.ApplicationFilter{AccountSID: q.acct.SID, FriendlyName: q.get("FriendlyName")}, pr.sp)
	if err != nil {
		return listErr(err)
	}
	return writePage(q, "applications", filtersFrom(q, "FriendlyName"), pr, items,
		func(x store.Application) string { return x.SID }, renderApplication)
}

// bindApplication applies the §7.2 parameters present in the request.
func bindApplication(q *request, app *store.Application) *Error {
	b := binder{q: q, urlCode: CodeInvalidURL}
	b.text("FriendlyName", maxFriendlyName, &app.FriendlyName)
	b.apiVersion(&app.APIVersion)
	b.url("VoiceUrl", &app.VoiceURL)
	b.method("VoiceMethod", &app.VoiceMethod)
	b.url("VoiceFallbackUrl", &app.VoiceFallbackURL)
	b.method("VoiceFallbackMethod", &app.VoiceFallbackMethod)
	b.url("StatusCallback", &app.StatusCallback)
	b.method("StatusCallbackMethod", &app.StatusCallbackMethod)
	b.boolean("VoiceCallerIdLookup", &app.VoiceCallerIDLookup)
	b.url("SmsUrl", &app.SMSURL)
	b.method("SmsMethod", &app.SMSMethod)
	b.url("SmsFallbackUrl", &app.SMSFallbackURL)
	b.method("SmsFallbackMethod", &app.SMSFallbackMethod)
	b.url("SmsStatusCallback", &app.SMSStatusCallback)
	b.url("MessageStatusCallback", &app.MessageStatusCallback)
	b.boolean("PublicApplicationConnectEnabled", &app.PublicApplicationConnectEnabled)
	if b.err != nil {
		return b.err
	}
	return fallbackRule(app.VoiceURL, app.VoiceFallbackURL, "VoiceFallbackUrl", "VoiceUrl",
		app.SMSURL, app.SMSFallbackURL, "SmsFallbackUrl", "SmsUrl")
}

// fallbackRule is 21405: a fallback URL needs the URL it falls back from.
func fallbackRule(pairs ...string) *Error {
	for i := 0; i+3 < len(pairs); i += 4 {
		if pairs[i+1] != "" && pairs[i] == "" {
			return badRequest(CodeFallbackWithoutURL, "Cannot set %s without %s", pairs[i+2], pairs[i+3])
		}
	}
	return nil
}

func createApplication(a *API, q *request) error {
	now := a.now().UTC()
	app := store.Application{
		SID: store.NewSID("AP"), AccountSID: q.acct.SID, APIVersion: "2010-04-01",
		VoiceMethod: "POST", VoiceFallbackMethod: "POST", StatusCallbackMethod: "POST",
		SMSMethod: "POST", SMSFallbackMethod: "POST", DateCreated: now, DateUpdated: now,
	}
	if err := bindApplication(q, &app); err != nil {
		return err
	}
	if err := a.st.CreateApplication(q.ctx, app); err != nil {
		return fmt.Errorf("create application: %w", err)
	}
	return q.json(http.StatusCreated, renderApplication(app))
}

// ownApplication reads the path's application of the path's account.
func ownApplication(a *API, q *request) (store.Application, error) {
	return owned(q, "AP", q.param("Sid"), a.st.Application, func(x store.Application) string { return x.AccountSID }, q.acct.SID)
}

func fetchApplication(a *API, q *request) error {
	app, err := ownApplication(a, q)
	if err != nil {
		return err
	}
	return q.json(http.StatusOK, renderApplication(app))
}

func updateApplication(a *API, q *request) error {
	app, err := ownApplication(a, q)
	if err != nil {
		return err
	}
	if err := bindApplication(q, &app); err != nil {
		return err
	}
	app.DateUpdated = a.now().UTC()
	if err := a.st.UpdateApplication(q.ctx, app); err != nil {
		return q.storeErr(err, "update application")
	}
	return q.json(http.StatusOK, renderApplication(app))
}

func deleteApplication(a *API, q *request) error {
	sid := q.param("Sid")
	if err := a.st.DeleteApplication(q.ctx, q.acct.SID, sid); err != nil {
		return q.storeErr(err, "delete application")
	}
	return q.noContent()
}
