package api

import (
	"net/http"

	"github.com/custody-dev/custody"
)

// Access control routes (docs/roles.md): revealing a protected identity
// with a reason, who read a record, users' compartments and clearances.
// The service checks every permission; these handlers only translate.

type revealBody struct {
	Reason string `json:"reason"`
}

type grantBody struct {
	Compartment string `json:"compartment"`
	Reason      string `json:"reason,omitempty"`
	Revoke      bool   `json:"revoke,omitempty"`
}

type clearanceBody struct {
	Clearance string `json:"clearance"`
	Reason    string `json:"reason,omitempty"`
}

// revealRecord: POST /api/v1/records/{id}/reveal.
func (s *Server) revealRecord(w http.ResponseWriter, r *http.Request, u *custody.User) {
	var b revealBody
	if err := decodeJSON(r, w, &b); err != nil {
		s.error(w, r, err)
		return
	}
	rec, err := s.svc.RevealRecord(r.Context(), u, r.PathValue("id"), b.Reason)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.json(w, http.StatusOK, rec)
}

// accessLog: GET /api/v1/records/{id}/access (records and items alike).
func (s *Server) accessLog(w http.ResponseWriter, r *http.Request, u *custody.User) {
	if _, err := queryParams(r); err != nil {
		s.error(w, r, err)
		return
	}
	evs, err := s.svc.AccessLog(r.Context(), u, r.PathValue("id"))
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.json(w, http.StatusOK, map[string]any{"events": evs})
}

// userGrants: GET /api/v1/users/{name}/grants.
func (s *Server) userGrants(w http.ResponseWriter, r *http.Request, u *custody.User) {
	if _, err := queryParams(r); err != nil {
		s.error(w, r, err)
		return
	}
	g, err := s.svc.Grants(r.Context(), u, r.PathValue("name"))
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.json(w, http.StatusOK, map[string]any{"grants": g})
}

// changeGrant: POST /api/v1/users/{name}/grants.
func (s *Server) changeGrant(w http.ResponseWriter, r *http.Request, u *custody.User) {
	var b grantBody
	if err := decodeJSON(r, w, &b); err != nil {
		s.error(w, r, err)
		return
	}
	if err := s.svc.Grant(r.Context(), u, r.PathValue("name"), b.Compartment, b.Reason, b.Revoke); err != nil {
		s.error(w, r, err)
		return
	}
	g, err := s.svc.Grants(r.Context(), u, r.PathValue("name"))
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.json(w, http.StatusOK, map[string]any{"grants": g})
}

// setClearance: PUT /api/v1/users/{name}/clearance.
func (s *Server) setClearance(w http.ResponseWriter, r *http.Request, u *custody.User) {
	var b clearanceBody
	if err := decodeJSON(r, w, &b); err != nil {
		s.error(w, r, err)
		return
	}
	if err := s.svc.SetClearance(r.Context(), u, r.PathValue("name"), b.Clearance, b.Reason); err != nil {
		s.error(w, r, err)
		return
	}
	s.json(w, http.StatusOK, map[string]any{"user": r.PathValue("name"), "clearance": b.Clearance})
}

func accessOperations() []operation {
	grant := object(jsonObj{
		"user":        with(uuidString, "description", "the user's ID"),
		"compartment": with(uuidString, "description", "a case or team record"),
		"source":      str(`"grant" (given by an administrator), "creator" (who created the case or team) or the team record whose members include the user`),
	}, "user", "compartment", "source")
	grants := jsonBody("the user's compartments", object(jsonObj{"grants": arrayOf(grant)}, "grants"))
	event := object(jsonObj{
		"subject":   str("the record or item read"),
		"action":    str("view, list, search, history, reveal, access (item content), export"),
		"reason":    str("the reason given, if any"),
		"actor":     with(uuidString, "description", "who read it"),
		"time":      with(str("when"), "format", "date-time"),
		"log_index": jsonObj{"type": "integer", "description": "the log entry that records the read"},
	}, "subject", "action", "actor", "time", "log_index")
	return []operation{
		{method: "POST", path: "/api/v1/records/{id}/reveal", id: "revealRecord", tag: "access", summary: "Reveal the protected identities a record holds",
			description: "Needs the reveal permission and a clearance at least each identity's protection level, and a reason: the reveal is an entry in the log (who, when, why).",
			body:        jsonBody("why", object(jsonObj{"reason": str("why the identity is needed")}, "reason")),
			status:      200, result: jsonBody("the record with the identities shown", ref("Record")), errors: []int{400, 403, 404}},
		{method: "GET", path: "/api/v1/records/{id}/access", id: "listAccess", tag: "access", summary: "Who read a record or item (administrators)",
			description: "Audited reads of personal data, reveals, item content reads and exports, oldest first.",
			status:      200, result: jsonBody("the reads", object(jsonObj{"events": arrayOf(event)}, "events")), errors: []int{403}},
		{method: "GET", path: "/api/v1/users/{name}/grants", id: "listGrants", tag: "access", summary: "A user's compartments",
			description: "Administrators see anyone's; a user sees its own.",
			status:      200, result: grants, errors: []int{403, 404}},
		{method: "POST", path: "/api/v1/users/{name}/grants", id: "changeGrant", tag: "access", summary: "Grant or revoke a compartment (administrators)",
			body: jsonBody("the change", object(jsonObj{
				"compartment": with(uuidString, "description", "a case or team record"),
				"reason":      str("why (logged)"),
				"revoke":      jsonObj{"type": "boolean", "description": "take the compartment back"},
			}, "compartment")),
			status: 200, result: grants, errors: []int{400, 403, 404}},
		{method: "PUT", path: "/api/v1/users/{name}/clearance", id: "setClearance", tag: "access", summary: "Set a user's clearance (administrators)",
			body: jsonBody("the clearance", object(jsonObj{
				"clearance": with(jsonObj{"type": "string"}, "enum", custody.Clearances),
				"reason":    str("why (logged)"),
			}, "clearance")),
			status: 200, result: jsonBody("the user and clearance", object(jsonObj{"user": str("the user's name"), "clearance": str("the clearance")}, "user", "clearance")),
			errors: []int{400, 403, 404}},
	}
}
