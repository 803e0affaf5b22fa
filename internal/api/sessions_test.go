package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/custody-dev/custody"
	"github.com/custody-dev/custody/internal/evidence"
)

func TestSessionRoutes(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	admin, err := e.db.UserByName(ctx, "admin")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.SetPassword(ctx, admin, "ivan", "ivan's password"); err != nil {
		t.Fatal(err)
	}
	_, sess, token, err := e.svc.SignInWith(ctx, "ivan", "ivan's password", evidence.SessionOptions{UserAgent: "Firefox", Addr: "203.0.113.5:1"})
	if err != nil {
		t.Fatal(err)
	}

	// Only administrators.
	if r := e.do("GET", "/api/v1/sessions", e.reviewer, "", nil); r.status != http.StatusForbidden {
		t.Errorf("reviewer: status %d", r.status)
	}
	r := e.do("GET", "/api/v1/sessions", e.admin, "", nil)
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	var list struct{ Sessions []evidence.SessionInfo }
	if err := json.Unmarshal(r.body, &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Sessions) != 1 || list.Sessions[0].ID != sess.PublicID() || list.Sessions[0].User != "ivan" ||
		list.Sessions[0].UserAgent != "Firefox" || bytes.Contains(r.body, []byte(token)) || bytes.Contains(r.body, []byte(sess.ID)) {
		t.Errorf("sessions: %s", r.body)
	}
	for path, code := range map[string]string{
		"/api/v1/sessions?user=nobody": custody.ENOTFOUND,
		"/api/v1/sessions?who=ivan":    custody.EINVALID,
	} {
		if r := e.do("GET", path, e.admin, "", nil); r.errCode() != code {
			t.Errorf("%s: %d %s", path, r.status, r.body)
		}
	}
	if r := e.do("GET", "/api/v1/sessions?user=ivan", e.admin, "", nil); !bytes.Contains(r.body, []byte(sess.PublicID())) {
		t.Errorf("?user=ivan: %s", r.body)
	}

	// Revoke: only administrators; bad and unknown IDs are named.
	path := "/api/v1/sessions/" + sess.PublicID() + "/revoke"
	if r := e.do("POST", path, e.reviewer, "", nil); r.status != http.StatusForbidden {
		t.Errorf("reviewer revoke: status %d", r.status)
	}
	for _, tc := range []struct {
		id     string
		status int
	}{{"xyz", http.StatusBadRequest}, {"0000000000000000", http.StatusNotFound}} {
		if r := e.do("POST", "/api/v1/sessions/"+tc.id+"/revoke", e.admin, "", nil); r.status != tc.status {
			t.Errorf("revoke %s: status %d, want %d: %s", tc.id, r.status, tc.status, r.body)
		}
	}
	if _, _, err := e.svc.Session(ctx, token); err != nil {
		t.Fatalf("session before the revocation: %v", err)
	}
	r = e.do("POST", path, e.admin, "", nil)
	if r.status != http.StatusOK || !bytes.Contains(r.body, []byte(`"revoked": true`)) {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	if _, _, err := e.svc.Session(ctx, token); custody.ErrorCode(err) != custody.EUNAUTHORIZED {
		t.Errorf("revoked session: %v", err)
	}
	if r := e.do("POST", path, e.admin, "", nil); r.status != http.StatusNotFound {
		t.Errorf("second revoke: status %d", r.status)
	}
}

// A scoped token acts with its role: every permission check applies it.
func TestScopedTokenRoutes(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	admin, err := e.db.UserByName(ctx, "admin")
	if err != nil {
		t.Fatal(err)
	}
	ro, roToken, err := e.svc.CreateToken(ctx, admin, evidence.TokenRequest{User: "admin", Role: custody.RoleReviewer, Label: "read-only"})
	if err != nil {
		t.Fatal(err)
	}
	r := e.do("GET", "/api/v1/me", roToken, "", nil)
	if r.status != http.StatusOK || !bytes.Contains(r.body, []byte(`"role": "reviewer"`)) || !bytes.Contains(r.body, []byte(`"name": "admin"`)) {
		t.Errorf("me with a scoped token: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/api/v1/items?name=a.txt", roToken, "application/octet-stream", strings.NewReader("x")); r.status != http.StatusForbidden {
		t.Errorf("intake with a reviewer token: status %d: %s", r.status, r.body)
	}
	if r := e.do("GET", "/api/v1/sessions", roToken, "", nil); r.status != http.StatusForbidden {
		t.Errorf("sessions with a reviewer token of an admin: status %d", r.status)
	}
	if _, err := e.svc.RevokeToken(ctx, admin, ro.ID); err != nil {
		t.Fatal(err)
	}
	r = e.do("GET", "/api/v1/me", roToken, "", nil)
	if r.status != http.StatusUnauthorized || r.header.Get("WWW-Authenticate") == "" || !strings.Contains(r.errMessage(), "revoked") {
		t.Errorf("revoked token: %d %v %s", r.status, r.header, r.body)
	}
	// The admin's own token is untouched.
	if r := e.do("GET", "/api/v1/me", e.admin, "", nil); r.status != http.StatusOK || !bytes.Contains(r.body, []byte(`"role": "admin"`)) {
		t.Errorf("own token: %d %s", r.status, r.body)
	}
}
