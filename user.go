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
func (r Role) CanWrite() bool { return r.Can(PermWrite) }

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

// Sign-in hardening: second factor, password changes and scoped API tokens
// (docs/roles.md). Their log entries are EntryUserTOTP, EntryUserPassword,
// EntryTokenAdd and EntryTokenRevoke.

// MayScopeTo reports whether a user of role r may hold an API token scoped
// to role to: r itself, or a read-only role (analyst, reviewer) with no
// permission r lacks — never a wider one (a reviewer may not hold an
// analyst's token: analysts read general records, reviewers do not).
func (r Role) MayScopeTo(to Role) bool {
	if to == r {
		return true
	}
	if to != RoleAnalyst && to != RoleReviewer {
		return false
	}
	for _, p := range RolePermissions[to] {
		if !r.Can(p) {
			return false
		}
	}
	return true
}

// UserTOTP is the payload of EntryUserTOTP.
type UserTOTP struct {
	Nonce string `json:"nonce"`
	ID    string `json:"id"` // the user
	// Secret is the TOTP key (RFC 6238: HMAC-SHA-1, 6 digits, 30 s) in
	// base32 without padding; empty removes the second factor.
	Secret string `json:"secret,omitempty"`
}

// UserPassword is the payload of EntryUserPassword.
type UserPassword struct {
	Nonce        string `json:"nonce"`
	ID           string `json:"id"`            // the user
	PasswordHash string `json:"password_hash"` // argon2id PHC string
}

// TokenAdded is the payload of EntryTokenAdd.
type TokenAdded struct {
	Nonce string `json:"nonce"`
	ID    string `json:"id"`   // the token's ID, also the entry's subject
	User  string `json:"user"` // ID of the user the token acts as
	Role  Role   `json:"role"` // the role requests made with it have
	// TokenHash is the hex SHA-256 of the token; the token is shown once.
	TokenHash string `json:"token_hash"`
	Label     string `json:"label,omitempty"`
	ExpiresAt string `json:"expires_at"` // TimeFormat
}

// TokenRevoked is the payload of EntryTokenRevoke.
type TokenRevoked struct {
	Nonce string `json:"nonce"`
	ID    string `json:"id"` // the token
}

// APIToken describes a scoped API token; never the token itself.
type APIToken struct {
	ID        string `json:"id"`
	UserID    string `json:"user_id"`
	User      string `json:"user"` // the user's name
	Role      Role   `json:"role"`
	Label     string `json:"label,omitempty"`
	CreatedAt string `json:"created_at"`
	CreatedBy string `json:"created_by"` // ID of the user who issued it
	ExpiresAt string `json:"expires_at"`
	RevokedAt string `json:"revoked_at,omitempty"`
	RevokedBy string `json:"revoked_by,omitempty"`
	LogIndex  uint64 `json:"log_index"`
}
