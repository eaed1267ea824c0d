package control

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"tandem/control/store"
)

// BenchmarkFetchApplication is one authenticated GET through the handler
// (routing, Basic auth against the store, a read, JSON), in process.
func BenchmarkFetchApplication(b *testing.B) {
	e := newEnv(b)
	app := store.Application{SID: store.NewSID("AP"), AccountSID: e.main.SID, APIVersion: "2010-04-01",
		VoiceURL: "https://example.com/v", VoiceMethod: "POST", DateCreated: t0, DateUpdated: t0}
	if err := e.st.CreateApplication(b.Context(), app); err != nil {
		b.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, acctPath(e.main.SID, "/Applications/"+app.SID+".json"), nil)
	req.SetBasicAuth(e.main.SID, e.main.AuthToken)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		rec := httptest.NewRecorder()
		e.api.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatal(rec.Code, rec.Body)
		}
	}
}
