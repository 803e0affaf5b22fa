package api

import (
	"net/http"

	"github.com/custody-dev/custody"
)

// Web sessions, for administrators: who is signed in where, and revoking a
// session (a stolen laptop, a person leaving). A revoked session is
// refused at its next request. Session tokens are never shown; a session
// is named by the first 16 hex digits of its token's hash.

// listSessions: GET /api/v1/sessions[?user=NAME].
func (s *Server) listSessions(w http.ResponseWriter, r *http.Request, u *custody.User) {
	q, err := queryParams(r, "user")
	if err != nil {
		s.error(w, r, err)
		return
	}
	list, err := s.svc.Sessions(r.Context(), u, q.Get("user"))
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.json(w, http.StatusOK, map[string]any{"sessions": list})
}

// revokeSession: POST /api/v1/sessions/{id}/revoke.
func (s *Server) revokeSession(w http.ResponseWriter, r *http.Request, u *custody.User) {
	if _, err := queryParams(r); err != nil {
		s.error(w, r, err)
		return
	}
	id := r.PathValue("id")
	if err := s.svc.RevokeSession(r.Context(), u, id); err != nil {
		s.error(w, r, err)
		return
	}
	s.json(w, http.StatusOK, map[string]any{"id": id, "revoked": true})
}

// sessionOperations documents the session routes (operations appends
// them).
func sessionOperations() []operation {
	session := object(jsonObj{
		"id":         with(str("names the session: the first 16 hex digits of the SHA-256 of its token"), "pattern", sessionIDPattern),
		"user":       str("the user's name"),
		"user_id":    with(uuidString, "description", "the user's ID"),
		"created_at": with(str("when the user signed in"), "format", "date-time"),
		"last_seen":  with(str("last recorded activity (written at most once a minute)"), "format", "date-time"),
		"idle_until": with(str("the session ends then unless used"), "format", "date-time"),
		"expires_at": with(str("the session ends then however busy"), "format", "date-time"),
		"addr":       str("the client's address at sign-in"),
		"user_agent": str("the browser at sign-in"),
	}, "id", "user", "user_id", "created_at", "last_seen", "idle_until", "expires_at")
	return []operation{
		{method: "GET", path: "/api/v1/sessions", id: "listSessions", tag: "users", summary: "List open web sessions (administrators)",
			description: "Sessions still valid, most recently active first. Never shows a session's token.",
			query:       []param{qp("user", "only this user's sessions (a user name)", jsonObj{"type": "string"})},
			status:      200, result: jsonBody("the sessions", object(jsonObj{"sessions": arrayOf(session)}, "sessions")),
			errors: []int{400, 403, 404}},
		{method: "POST", path: "/api/v1/sessions/{id}/revoke", id: "revokeSession", tag: "users", summary: "Revoke a web session (administrators)",
			description: "Ends the session at once: its next request is refused and its user must sign in again. The full 64-digit hash is accepted too.",
			status:      200, result: jsonBody("the revoked session", object(jsonObj{"id": str("the session"), "revoked": jsonObj{"type": "boolean", "const": true}}, "id", "revoked")),
			errors: []int{400, 403, 404, 409}},
	}
}

const sessionIDPattern = `^[0-9a-f]{16}([0-9a-f]{48})?$`
