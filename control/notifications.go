package control

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"tandem/control/store"
)

// Notifications are the warnings and errors the call path recorded (12200
// schema warnings with their line, 11200 webhook failures, 13xxx invalid
// attributes…), listed under the account and under each call as twilio-go
// v1.31.0 reads them (rest/api/v2010/accounts_notifications.go,
// accounts_calls_notifications.go). They are read-only here: the switch
// writes them through store.CallWriter.

// notificationListParams: ListNotificationParams and
// ListCallNotificationParams.
var notificationListParams = []string{"Log", "MessageDate", "MessageDate<", "MessageDate>", "PageSize", "Page", "PageToken"}

// notificationFilter reads Log (0 errors, 1 warnings) and MessageDate with
// its < and > forms (the same date rules as the Calls list's StartTime).
func notificationFilter(q *request) (store.NotificationFilter, error) {
	f := store.NotificationFilter{AccountSID: q.acct.SID}
	if q.has("Log") {
		v := q.get("Log")
		var level int
		switch v {
		case "0":
			level = store.NotificationError
		case "1":
			level = store.NotificationWarning
		default:
			return f, invalidParam("Log must be 0 (errors) or 1 (warnings) (got %s)", clip(v))
		}
		f.Log = &level
	}
	var err error
	if f.MessageDate, err = timeRange(q, "MessageDate"); err != nil {
		return f, err
	}
	return f, nil
}

func listAccountNotifications(a *API, q *request) error {
	return listNotifications(a, q, "")
}

// listCallNotifications lists one call's notifications. A call record of
// another account is 404 like everything else of it. A call with no record
// (yet) lists what the account holds for that SID: the writer batches call
// records and notifications, and a call refused before its record was made
// may still have warnings. The account filter keeps it isolated either way.
func listCallNotifications(a *API, q *request) error {
	callSID := q.param("CallSid")
	if err := checkCallPath(a, q, callSID); err != nil {
		return err
	}
	return listNotifications(a, q, callSID)
}

// checkCallPath answers 404 for a malformed call SID or another account's
// call.
func checkCallPath(a *API, q *request, callSID string) error {
	if !store.ValidSID("CA", callSID) {
		return notFound(clip(q.r.URL.Path))
	}
	c, err := a.st.Call(q.ctx, callSID)
	if err == nil && c.AccountSID != q.acct.SID {
		return notFound(clip(q.r.URL.Path))
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("read call %s: %w", callSID, err)
	}
	return nil
}

func listNotifications(a *API, q *request, callSID string) error {
	pr, err := parsePage(q)
	if err != nil {
		return err
	}
	f, err := notificationFilter(q)
	if err != nil {
		return err
	}
	f.CallSID = callSID
	items, err := a.st.ListNotifications(q.ctx, f, pr.sp)
	if err != nil {
		return listErr(err)
	}
	filters := filtersFrom(q, "Log", "MessageDate", "MessageDate<", "MessageDate>")
	return writePage(q, "notifications", filters, pr, items, func(n store.Notification) string { return n.SID },
		func(n store.Notification) notificationJSON { return renderNotification(n, callSID != "") })
}

func fetchAccountNotification(a *API, q *request) error {
	n, err := owned(q, "NO", q.param("Sid"), a.st.Notification, func(n store.Notification) string { return n.AccountSID }, q.acct.SID)
	if err != nil {
		return err
	}
	return q.json(http.StatusOK, renderNotificationInstance(n, false))
}

// fetchCallNotification answers a notification of the account recorded on
// the path's call; any other is 404.
func fetchCallNotification(a *API, q *request) error {
	callSID := q.param("CallSid")
	if !store.ValidSID("CA", callSID) {
		return notFound(clip(q.r.URL.Path))
	}
	n, err := owned(q, "NO", q.param("Sid"), a.st.Notification, func(n store.Notification) string { return n.AccountSID }, q.acct.SID)
	if err != nil {
		return err
	}
	if n.CallSID != callSID {
		return notFound(clip(q.r.URL.Path))
	}
	return q.json(http.StatusOK, renderNotificationInstance(n, true))
}

// notificationJSON is a Notification in a list (twilio-go
// ApiV2010Notification, ApiV2010CallNotification). error_code and log are
// strings in Twilio's representation, and twilio-go decodes them as such.
type notificationJSON struct {
	AccountSid    string  `json:"account_sid"`
	APIVersion    *string `json:"api_version"`
	CallSid       *string `json:"call_sid"`
	DateCreated   *string `json:"date_created"`
	DateUpdated   *string `json:"date_updated"`
	ErrorCode     string  `json:"error_code"`
	Log           string  `json:"log"`
	MessageDate   *string `json:"message_date"`
	MessageText   string  `json:"message_text"`
	MoreInfo      string  `json:"more_info"`
	RequestMethod *string `json:"request_method"`
	RequestURL    *string `json:"request_url"`
	Sid           string  `json:"sid"`
	URI           string  `json:"uri"`
}

// notificationInstanceJSON adds what Twilio returns only for one
// notification: "due to the potentially voluminous amount of data in a
// notification, the full HTTP request and response data is only returned
// in the Notification instance resource representation".
type notificationInstanceJSON struct {
	notificationJSON
	RequestVariables *string `json:"request_variables"`
	ResponseBody     *string `json:"response_body"`
	ResponseHeaders  *string `json:"response_headers"`
}

// renderNotification: underCall gives the uri under the call
// (/Calls/CA…/Notifications/NO….json), as Twilio's call subresource does.
func renderNotification(n store.Notification, underCall bool) notificationJSON {
	uri := underAccount(n.AccountSID, "/Notifications/"+n.SID+".json")
	if underCall {
		uri = underAccount(n.AccountSID, "/Calls/"+n.CallSID+"/Notifications/"+n.SID+".json")
	}
	moreInfo := n.MoreInfo
	if moreInfo == "" {
		moreInfo = store.MoreInfoURL(n.ErrorCode)
	}
	return notificationJSON{
		AccountSid: n.AccountSID, APIVersion: opt(n.APIVersion), CallSid: opt(n.CallSID),
		DateCreated: rfc2822(n.DateCreated), DateUpdated: rfc2822(n.DateUpdated),
		ErrorCode: strconv.Itoa(n.ErrorCode), Log: strconv.Itoa(n.Log), MessageDate: rfc2822(n.MessageDate),
		MessageText: n.MessageText, MoreInfo: moreInfo, RequestMethod: opt(n.RequestMethod),
		RequestURL: opt(n.RequestURL), Sid: n.SID, URI: uri,
	}
}

func renderNotificationInstance(n store.Notification, underCall bool) notificationInstanceJSON {
	return notificationInstanceJSON{
		notificationJSON: renderNotification(n, underCall),
		RequestVariables: opt(n.RequestVariables), ResponseBody: opt(n.ResponseBody),
		ResponseHeaders: opt(n.ResponseHeaders),
	}
}
