package control

import (
	"fmt"
	"net/http"

	"tandem/control/store"
)

// maxFriendlyName is Twilio's limit for friendly names (64 characters).
const maxFriendlyName = 64

var accountStatuses = []string{store.AccountActive, store.AccountSuspended, store.AccountClosed}

// listAccounts lists the caller and, for a main account, its subaccounts.
func listAccounts(a *API, q *request) error {
	pr, err := parsePage(q)
	if err != nil {
		return err
	}
	f := store.AccountFilter{Family: q.caller.SID, FriendlyName: q.get("FriendlyName"), Status: q.get("Status")}
	if f.Status != "" && !validOneOf(f.Status, accountStatuses) {
		return invalidParam("Status must be active, suspended or closed")
	}
	items, err := a.st.ListAccounts(q.ctx, f, pr.sp)
	if err != nil {
		return listErr(err)
	}
	return writePage(q, "accounts", filtersFrom(q, "FriendlyName", "Status"), pr, items,
		func(x store.Account) string { return x.SID }, renderAccount)
}

func validOneOf(v string, allowed []string) bool {
	for _, a := range allowed {
		if v == a {
			return true
		}
	}
	return false
}

// createAccount creates a subaccount of the caller. Twilio allows one
// level: a subaccount cannot create subaccounts.
func createAccount(a *API, q *request) error {
	if !q.caller.IsMain() {
		return forbidden("Subaccounts cannot create subaccounts")
	}
	now := a.now().UTC()
	acct := store.Account{
		SID: store.NewSID("AC"), OwnerSID: q.caller.SID, Status: store.AccountActive, Type: q.caller.Type,
		AuthToken: store.NewAuthToken(), DateCreated: now, DateUpdated: now,
		// twilio-go: defaults to "SubAccount Created at {YYYY-MM-DD HH:MM meridian}".
		FriendlyName: "SubAccount Created at " + now.Format("2006-01-02 03:04 pm"),
	}
	b := binder{q: q}
	b.text("FriendlyName", maxFriendlyName, &acct.FriendlyName)
	if b.err != nil {
		return b.err
	}
	if err := a.st.CreateAccount(q.ctx, acct); err != nil {
		return fmt.Errorf("create subaccount: %w", err)
	}
	return q.json(http.StatusCreated, renderAccount(acct))
}

func fetchAccount(_ *API, q *request) error {
	return q.json(http.StatusOK, renderAccount(q.acct))
}

// updateAccount changes FriendlyName and Status. Closing is final; the main
// account's status does not change through the API (suspending it would
// lock every account out).
func updateAccount(a *API, q *request) error {
	acct := q.acct
	b := binder{q: q}
	b.text("FriendlyName", maxFriendlyName, &acct.FriendlyName)
	b.oneOf("Status", &acct.Status, accountStatuses...)
	if b.err != nil {
		return b.err
	}
	if acct.Status != q.acct.Status {
		switch {
		case q.acct.IsMain():
			return forbidden("The main account's status cannot be changed through the API")
		case q.acct.Status == store.AccountClosed:
			return invalidParam("Account %s is closed; closing is final", acct.SID)
		}
	}
	acct.DateUpdated = a.now().UTC()
	if err := a.st.UpdateAccount(q.ctx, acct); err != nil {
		return fmt.Errorf("update account: %w", err)
	}
	return q.json(http.StatusOK, renderAccount(acct))
}
