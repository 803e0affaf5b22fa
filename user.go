package custody

import "context"

// Role is what a user may do. Roles exist from the start with these names;
// the permissions of each are documented in docs/roles.md.
type Role string

// The roles.
const (
	RoleAdmin        Role = "admin"
	RoleProsecutor   Role = "prosecutor"
	RoleInvestigator Role = "investigator"
	RoleForensic     Role = "forensic"
	RoleSapper       Role = "sapper"
	RoleAnalyst      Role = "analyst"
	RoleReviewer     Role = "reviewer" // read-only: court or defence
)

// Roles lists every role in a stable order.
var Roles = []Role{RoleAdmin, RoleProsecutor, RoleInvestigator, RoleForensic, RoleSapper, RoleAnalyst, RoleReviewer}

// ParseRole checks a role name.
func ParseRole(s string) (Role, error) {
	for _, r := range Roles {
		if string(r) == s {
			return r, nil
		}
	}
	return "", &Error{Code: EINVALID, Message: "unknown role " + quote(s),
		Hint: "roles: admin, prosecutor, investigator, forensic, sapper, analyst, reviewer"}
}

func quote(s string) string { return "\"" + truncate(s, 40) + "\"" }

// CanWrite reports whether the role may change records (intake, handover).
// Reviewers and analysts only read.
func (r Role) CanWrite() bool {
	switch r {
	case RoleAdmin, RoleProsecutor, RoleInvestigator, RoleForensic, RoleSapper:
		return true
	}
	return false
}

// User is a person who signs in to Custody.
type User struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Role      Role   `json:"role"`
	CreatedAt string `json:"created_at"`
	LogIndex  uint64 `json:"log_index"`
}

// SystemActor is the actor of entries made by the store itself.
var SystemActor = &User{ID: "system", Name: "system", Role: RoleAdmin}

// UserService manages users and authenticates requests.
type UserService interface {
	// CreateUser adds a user and returns it with its API token (shown once).
	// Errors: EINVALID, ECONFLICT (name taken), EFORBIDDEN.
	CreateUser(ctx context.Context, actor *User, name string, role Role, password string) (*User, string, error)
	// Authenticate returns the user owning the API token. Errors: EUNAUTHORIZED.
	Authenticate(ctx context.Context, token string) (*User, error)
}
