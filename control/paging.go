package control

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"tandem/control/store"
)

// Paging follows twilio-voice.md §7.1: PageSize (default 50, max 1000), Page
// (zero-based, bookkeeping), PageToken "PA"+last SID of the previous page
// (and "PB"+first SID for the previous page), and an envelope whose
// next_page_uri the SDKs append to their base URL (twilio-go
// client/page_util.go).
const (
	defaultPageSize = 50
	maxPageSize     = 1000
)

type pageReq struct {
	size   int
	page   int
	token  string
	before bool
	sp     store.Page
}

func parsePage(q *request) (pageReq, error) {
	pr := pageReq{size: defaultPageSize}
	if q.has("PageSize") {
		n, err := strconv.Atoi(q.get("PageSize"))
		if err != nil || n < 1 {
			return pr, invalidParam("PageSize must be a positive integer")
		}
		pr.size = min(n, maxPageSize)
	}
	if q.has("Page") {
		n, err := strconv.Atoi(q.get("Page"))
		if err != nil || n < 0 || n > 1<<20 {
			return pr, invalidParam("Page must be a non-negative integer")
		}
		pr.page = n
	}
	// One more row than asked tells whether another page follows.
	pr.sp = store.Page{Size: pr.size + 1}
	if q.has("PageToken") {
		t := q.get("PageToken")
		if len(t) != 36 || (t[:2] != "PA" && t[:2] != "PB") || !validSIDAny(t[2:]) {
			return pr, invalidParam("Invalid PageToken")
		}
		pr.token = t
		if t[:2] == "PA" {
			pr.sp.After = t[2:]
		} else {
			pr.sp.Before, pr.before = t[2:], true
		}
	} else {
		pr.sp.Offset = pr.page * pr.size
	}
	return pr, nil
}

// validSIDAny is a SID of any two-letter prefix.
func validSIDAny(s string) bool {
	return len(s) == 34 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z' && store.ValidSID(s[:2], s)
}

// listErr maps a store list error.
func listErr(err error) error {
	if errors.Is(err, store.ErrBadPageToken) {
		return invalidParam("Invalid PageToken: the resource it names no longer exists")
	}
	return err
}

// filter is one list filter echoed into the envelope's URIs.
type filter struct{ key, val string }

func pageURI(path string, filters []filter, size, page int, token string) string {
	var b strings.Builder
	b.WriteString(path)
	b.WriteByte('?')
	for _, f := range filters {
		b.WriteString(url.QueryEscape(f.key))
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(f.val))
		b.WriteByte('&')
	}
	fmt.Fprintf(&b, "PageSize=%d&Page=%d", size, page)
	if token != "" {
		b.WriteString("&PageToken=")
		b.WriteString(url.QueryEscape(token))
	}
	return b.String()
}

// filtersFrom echoes the given filter parameters, in a fixed order.
func filtersFrom(q *request, keys ...string) []filter {
	var fs []filter
	for _, k := range keys {
		if q.has(k) {
			fs = append(fs, filter{k, q.get(k)})
		}
	}
	return fs
}

// writePage answers a list: items as read with pr.sp (one extra row beyond
// the page when another page follows), rendered under key.
func writePage[T, J any](q *request, key string, filters []filter, pr pageReq, items []T, sid func(T) string, render func(T) J) error {
	more := len(items) > pr.size
	if more {
		if pr.before {
			items = items[1:]
		} else {
			items = items[:pr.size]
		}
	}
	path := q.r.URL.Path
	var next, prev *string
	// After a PB token the page that follows is the one the token came from.
	if len(items) > 0 && (more || pr.before) {
		s := pageURI(path, filters, pr.size, pr.page+1, "PA"+sid(items[len(items)-1]))
		next = &s
	}
	hasPrev := pr.page > 0 || (pr.token != "" && !pr.before) || (pr.before && more)
	if hasPrev {
		tok := ""
		if len(items) > 0 {
			tok = "PB" + sid(items[0])
		}
		s := pageURI(path, filters, pr.size, max(pr.page-1, 0), tok)
		prev = &s
	}
	rendered := make([]J, len(items))
	for i, it := range items {
		rendered[i] = render(it)
	}
	start := pr.page * pr.size
	end := start
	if len(items) > 0 {
		end = start + len(items) - 1
	}
	return q.json(200, map[string]any{
		key:                 rendered,
		"end":               end,
		"first_page_uri":    pageURI(path, filters, pr.size, 0, ""),
		"next_page_uri":     next,
		"page":              pr.page,
		"page_size":         pr.size,
		"previous_page_uri": prev,
		"start":             start,
		"uri":               pageURI(path, filters, pr.size, pr.page, pr.token),
	})
}
