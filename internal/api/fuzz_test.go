package api_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzCreateItemQuery feeds arbitrary queries, content types and bodies to
// POST /api/v1/items: client input must never cause a 5xx or a panic.
func FuzzCreateItemQuery(f *testing.F) {
	f.Add("name=a.jpg&collector=x", "application/octet-stream", []byte("hello"))
	f.Add("lat=1e400&lon=-0", "", []byte("x"))
	f.Add("lat=NaN&lon=Inf", "", []byte("x"))
	f.Add("kind=physical", "", []byte{})
	f.Add("collected_at=2022-13-45T99:00:00Z", "", []byte("x"))
	f.Add("name=%00%ff..%2F", "text/plain", []byte("x"))
	f.Add("", "multipart/form-data; boundary=b", []byte("--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"../x\"\r\n\r\ndata\r\n--b--\r\n"))
	f.Add("", "multipart/form-data; boundary=b", []byte("--b\r\nContent-Disposition: form-data; name=\"lat\"\r\n\r\n12\r\n--b\r\n"))
	f.Add("", "multipart/form-data; boundary=\"", []byte("--"))
	f.Add("device_time=x&seal=%e2%80%ae", "", []byte("x"))
	e := newEnv(f)
	f.Fuzz(func(t *testing.T, query, ctype string, body []byte) {
		if strings.ContainsAny(query, "# \r\n") {
			return
		}
		req := httptest.NewRequest("POST", "/api/v1/items", bytes.NewReader(body))
		req.URL.RawQuery = query
		req.Header.Set("Content-Type", ctype)
		req.Header.Set("Authorization", "Bearer "+e.admin)
		w := httptest.NewRecorder()
		e.handler.ServeHTTP(w, req)
		if w.Code >= 500 {
			t.Fatalf("status %d for query %q ctype %q: %s", w.Code, query, ctype, w.Body)
		}
		if w.Code != http.StatusCreated {
			checkNoLeak(t, w.Code, w.Body.Bytes())
		}
	})
}

// FuzzHandoverBody feeds arbitrary JSON bodies to the handover route.
func FuzzHandoverBody(f *testing.F) {
	f.Add([]byte(`{"to":"ivan","reason":"lab"}`))
	f.Add([]byte(`{"to":"ivan","reason":"lab","device_time":"2022-01-01T00:00:00Z"}`))
	f.Add([]byte(`{"to":"","reason":""}`))
	f.Add([]byte(`{"to":"\u0000","reason":"\ud800"}`))
	f.Add([]byte(`{"to":"ivan","reason":"x","device_time":"not a time"}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`null`))
	f.Add([]byte(`{"to":"admin","reason":"r","seal":"` + strings.Repeat("s", 5000) + `"}`))
	e := newEnv(f)
	it := e.upload([]byte("fuzz target"), "name=f")
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest("POST", "/api/v1/items/"+it.ID+"/handover", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+e.admin)
		w := httptest.NewRecorder()
		e.handler.ServeHTTP(w, req)
		if w.Code >= 500 {
			t.Fatalf("status %d for %q: %s", w.Code, body, w.Body)
		}
		checkNoLeak(t, w.Code, w.Body.Bytes())
	})
}
