package control

import (
	"net/http"
	"strings"
)

// handlerFunc serves one route and method. It writes the answer itself or
// returns an error, which serve renders (a TwilioError as its status and
// code, anything else as 500/20500).
type handlerFunc func(a *API, q *request) error

// methodSpec is one method of a route: its handler and the parameters it
// accepts (anything else is 20001).
type methodSpec struct {
	h      handlerFunc
	params []string
	// pathAccountOnly: the request acts on the path's account itself
	// (fetching or updating it), which its parent may do whatever the
	// account's status.
	accountItself bool
}

// route is a path template such as
// "/2010-04-01/Accounts/{AccountSid}/Applications/{Sid}.json". The template
// is also the metrics label: low cardinality whatever the paths.
type route struct {
	template string
	segs     []segment
	methods  map[string]methodSpec
	allow    string
}

// segment is a literal, or a {Name} wildcard with a literal suffix (".json").
type segment struct {
	lit    string
	name   string
	suffix string
}

func newRoute(template string, methods map[string]methodSpec) *route {
	r := &route{template: template, methods: methods}
	for _, s := range strings.Split(strings.TrimPrefix(template, "/"), "/") {
		if strings.HasPrefix(s, "{") {
			end := strings.IndexByte(s, '}')
			r.segs = append(r.segs, segment{name: s[1:end], suffix: s[end+1:]})
		} else {
			r.segs = append(r.segs, segment{lit: s})
		}
	}
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodDelete} {
		if _, ok := methods[m]; ok {
			allow = append(allow, m)
		}
	}
	r.allow = strings.Join(allow, ", ")
	return r
}

// pathParams holds the wildcards of a matched path (at most three).
type pathParams struct {
	n     int
	names [4]string
	vals  [4]string
}

func (p *pathParams) get(name string) string {
	for i := 0; i < p.n; i++ {
		if p.names[i] == name {
			return p.vals[i]
		}
	}
	return ""
}

// match reports whether path (split on '/') fits the template.
func (r *route) match(parts []string, p *pathParams) bool {
	if len(parts) != len(r.segs) {
		return false
	}
	p.n = 0
	for i, s := range r.segs {
		part := parts[i]
		if s.name == "" {
			if part != s.lit {
				return false
			}
			continue
		}
		if !strings.HasSuffix(part, s.suffix) || len(part) == len(s.suffix) || p.n == len(p.names) {
			return false
		}
		p.names[p.n], p.vals[p.n] = s.name, part[:len(part)-len(s.suffix)]
		p.n++
	}
	return true
}

// routes is the API surface: twilio-go v1.31.0 rest/api/v2010 paths.
func (a *API) routeTable() []*route {
	const acct = "/2010-04-01/Accounts/{AccountSid}"
	const domain = acct + "/SIP/Domains/{DomainSid}"
	page := []string{"PageSize", "Page", "PageToken"}
	with := func(ps ...[]string) []string {
		var out []string
		for _, p := range ps {
			out = append(out, p...)
		}
		return out
	}
	mappingRoutes := func(prefix string, purpose string) []*route {
		return []*route{
			newRoute(prefix+".json", map[string]methodSpec{
				http.MethodGet:  {h: listMappings(purpose), params: page},
				http.MethodPost: {h: createMapping(purpose), params: []string{"CredentialListSid"}},
			}),
			newRoute(prefix+"/{Sid}.json", map[string]methodSpec{
				http.MethodGet:    {h: fetchMapping(purpose)},
				http.MethodDelete: {h: deleteMapping(purpose)},
			}),
		}
	}
	rs := []*route{
		newRoute("/2010-04-01/Accounts.json", map[string]methodSpec{
			http.MethodGet:  {h: listAccounts, params: with([]string{"FriendlyName", "Status"}, page)},
			http.MethodPost: {h: createAccount, params: []string{"FriendlyName"}},
		}),
		newRoute(acct+".json", map[string]methodSpec{
			http.MethodGet:  {h: fetchAccount, accountItself: true},
			http.MethodPost: {h: updateAccount, params: []string{"FriendlyName", "Status"}, accountItself: true},
		}),
		newRoute(acct+"/Applications.json", map[string]methodSpec{
			http.MethodGet:  {h: listApplications, params: with([]string{"FriendlyName"}, page)},
			http.MethodPost: {h: createApplication, params: applicationParams},
		}),
		newRoute(acct+"/Applications/{Sid}.json", map[string]methodSpec{
			http.MethodGet:    {h: fetchApplication},
			http.MethodPost:   {h: updateApplication, params: applicationParams},
			http.MethodDelete: {h: deleteApplication},
		}),
		newRoute(acct+"/IncomingPhoneNumbers.json", map[string]methodSpec{
			http.MethodGet:  {h: listNumbers, params: with([]string{"Beta", "FriendlyName", "PhoneNumber", "Origin"}, page)},
			http.MethodPost: {h: createNumber, params: with(numberParams, []string{"PhoneNumber", "AreaCode"})},
		}),
		newRoute(acct+"/IncomingPhoneNumbers/{Sid}.json", map[string]methodSpec{
			http.MethodGet:    {h: fetchNumber},
			http.MethodPost:   {h: updateNumber, params: with(numberParams, []string{"AccountSid"})},
			http.MethodDelete: {h: deleteNumber},
		}),
		newRoute(acct+"/Calls.json", map[string]methodSpec{
			http.MethodGet: {h: listCalls, params: with([]string{"To", "From", "ParentCallSid", "Status",
				"StartTime", "StartTime<", "StartTime>", "EndTime", "EndTime<", "EndTime>"}, page)},
			http.MethodPost: {h: createCall, params: createCallParams},
		}),
		newRoute(acct+"/Calls/{Sid}.json", map[string]methodSpec{
			http.MethodGet:    {h: fetchCall},
			http.MethodPost:   {h: updateCall, params: updateCallParams},
			http.MethodDelete: {h: deleteCall},
		}),
		newRoute(acct+"/Calls/{CallSid}/Notifications.json", map[string]methodSpec{
			http.MethodGet: {h: listCallNotifications, params: notificationListParams},
		}),
		newRoute(acct+"/Calls/{CallSid}/Notifications/{Sid}.json", map[string]methodSpec{
			http.MethodGet: {h: fetchCallNotification},
		}),
		newRoute(acct+"/Notifications.json", map[string]methodSpec{
			http.MethodGet: {h: listAccountNotifications, params: notificationListParams},
		}),
		newRoute(acct+"/Notifications/{Sid}.json", map[string]methodSpec{
			http.MethodGet: {h: fetchAccountNotification},
		}),
		newRoute(acct+"/SIP/Domains.json", map[string]methodSpec{
			http.MethodGet:  {h: listDomains, params: page},
			http.MethodPost: {h: createDomain, params: domainParams},
		}),
		newRoute(acct+"/SIP/Domains/{Sid}.json", map[string]methodSpec{
			http.MethodGet:    {h: fetchDomain},
			http.MethodPost:   {h: updateDomain, params: domainParams},
			http.MethodDelete: {h: deleteDomain},
		}),
		newRoute(acct+"/SIP/CredentialLists.json", map[string]methodSpec{
			http.MethodGet:  {h: listCredentialLists, params: page},
			http.MethodPost: {h: createCredentialList, params: []string{"FriendlyName"}},
		}),
		newRoute(acct+"/SIP/CredentialLists/{Sid}.json", map[string]methodSpec{
			http.MethodGet:    {h: fetchCredentialList},
			http.MethodPost:   {h: updateCredentialList, params: []string{"FriendlyName"}},
			http.MethodDelete: {h: deleteCredentialList},
		}),
		newRoute(acct+"/SIP/CredentialLists/{CredentialListSid}/Credentials.json", map[string]methodSpec{
			http.MethodGet:  {h: listCredentials, params: page},
			http.MethodPost: {h: createCredential, params: []string{"Username", "Password"}},
		}),
		newRoute(acct+"/SIP/CredentialLists/{CredentialListSid}/Credentials/{Sid}.json", map[string]methodSpec{
			http.MethodGet:    {h: fetchCredential},
			http.MethodPost:   {h: updateCredential, params: []string{"Password"}},
			http.MethodDelete: {h: deleteCredential},
		}),
	}
	rs = append(rs, mappingRoutes(domain+"/CredentialListMappings", mappingLegacy)...)
	rs = append(rs, mappingRoutes(domain+"/Auth/Calls/CredentialListMappings", mappingCalls)...)
	rs = append(rs, mappingRoutes(domain+"/Auth/Registrations/CredentialListMappings", mappingRegistrations)...)
	return rs
}
