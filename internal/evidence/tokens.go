package evidence

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/custody-dev/custody"
)

// Scoped API tokens: a user may hold several, each with a role (the user's
// own or a read-only one: analyst, reviewer), an expiry and a label. They
// are log entries (token.add, token.revoke) holding only the token's
// SHA-256, projected into api_tokens. A request made with one acts as its
// user with the token's role, so every permission check applies the
// narrower role. The per-user token of user.add and user.token keeps
// working beside them, with the user's own role and no expiry.

// Token lifetimes.
const (
	DefaultTokenLife = 30 * 24 * time.Hour
	MinTokenLife     = time.Hour
	MaxTokenLife     = 366 * 24 * time.Hour
	maxTokenLabel    = 200
)

// TokenRequest asks for a scoped API token.
type TokenRequest struct {
	User    string        // the user's name
	Role    custody.Role  // "" for the user's own role
	Expires time.Duration // 0 for DefaultTokenLife
	Label   string        // what the token is for, e.g. "nightly export"
}

// CreateToken issues a scoped API token and returns its description and
// the token itself (shown once; only its hash is kept). The actor must be
// an administrator. Errors: EFORBIDDEN, EINVALID, ENOTFOUND.
func (s *Service) CreateToken(ctx context.Context, actor *custody.User, req TokenRequest) (*custody.APIToken, string, error) {
	if actor.Role != custody.RoleAdmin {
		return nil, "", custody.Errorf(custody.EFORBIDDEN, "only an admin may issue tokens")
	}
	u, err := s.cfg.DB.UserByName(ctx, req.User)
	if err != nil {
		return nil, "", err
	}
	role := req.Role
	if role == "" {
		role = u.Role
	}
	if _, err := custody.ParseRole(string(role)); err != nil {
		return nil, "", err
	}
	if !u.Role.MayScopeTo(role) {
		var allowed []string
		for _, r := range custody.Roles {
			if u.Role.MayScopeTo(r) {
				allowed = append(allowed, string(r))
			}
		}
		return nil, "", &custody.Error{Code: custody.EINVALID,
			Message: fmt.Sprintf("%s has role %s: a token of theirs cannot have role %s", u.Name, u.Role, role),
			Hint:    "a role no wider than the user's: " + strings.Join(allowed, ", ")}
	}
	life := req.Expires
	if life == 0 {
		life = DefaultTokenLife
	}
	if life < MinTokenLife || life > MaxTokenLife {
		return nil, "", custody.Errorf(custody.EINVALID, "a token lives from 1 hour to 366 days, not %s", life)
	}
	label := strings.TrimSpace(req.Label)
	if len(label) > maxTokenLabel || strings.ContainsFunc(label, unicode.IsControl) {
		return nil, "", custody.Errorf(custody.EINVALID, "a token's label is at most %d characters, on one line", maxTokenLabel)
	}
	token := s.newToken()
	expires := custody.FormatTime(s.cfg.Now().Add(life))
	p := custody.TokenAdded{Nonce: s.nonce(), ID: s.newID(), User: u.ID, Role: role, TokenHash: hashToken(token),
		Label: label, ExpiresAt: expires}
	pe, err := s.pending(custody.EntryTokenAdd, actor, p.ID, "", p)
	if err != nil {
		return nil, "", err
	}
	out, err := s.cfg.DB.Append(ctx, pe)
	if err != nil {
		return nil, "", err
	}
	s.cfg.Logger.Info("token issued", "token", p.ID, "user", u.Name, "role", role, "expires", expires, "by", actor.Name)
	return &custody.APIToken{ID: p.ID, UserID: u.ID, User: u.Name, Role: role, Label: label, CreatedAt: out[0].Entry.Time,
		CreatedBy: actor.ID, ExpiresAt: expires, LogIndex: out[0].Index}, token, nil
}

// Tokens lists the scoped API tokens of the user named name (everyone's
// when name is empty), revoked and expired ones included. Administrators
// see every token, other users only their own.
// Errors: EFORBIDDEN, ENOTFOUND.
func (s *Service) Tokens(ctx context.Context, actor *custody.User, name string) ([]*custody.APIToken, error) {
	userID := ""
	if name != "" {
		u, err := s.cfg.DB.UserByName(ctx, name)
		if err != nil {
			return nil, err
		}
		userID = u.ID
	}
	if actor.Role != custody.RoleAdmin {
		if userID != "" && userID != actor.ID {
			return nil, custody.Errorf(custody.EFORBIDDEN, "only an admin may list another user's tokens")
		}
		userID = actor.ID
	}
	return s.cfg.DB.Tokens(ctx, userID)
}

// RevokeToken revokes a scoped API token (a token.revoke entry): requests
// made with it fail at once. Administrators revoke any token, other users
// their own. Errors: EFORBIDDEN, ENOTFOUND, ECONFLICT (revoked already).
func (s *Service) RevokeToken(ctx context.Context, actor *custody.User, id string) (*custody.APIToken, error) {
	id = strings.TrimSpace(id)
	if len(id) > 64 {
		return nil, custody.Errorf(custody.ENOTFOUND, "no token %s", truncate(id, 64))
	}
	t, err := s.cfg.DB.Token(ctx, id)
	if custody.ErrorCode(err) == custody.ENOTFOUND {
		return nil, &custody.Error{Code: custody.ENOTFOUND, Message: fmt.Sprintf("no token %s", id), Hint: "custody token list shows the tokens' IDs"}
	} else if err != nil {
		return nil, err
	}
	if actor.Role != custody.RoleAdmin && actor.ID != t.UserID {
		return nil, custody.Errorf(custody.EFORBIDDEN, "only an admin may revoke another user's token")
	}
	if t.RevokedAt != "" {
		return nil, custody.Errorf(custody.ECONFLICT, "token %s was revoked already, at %s", id, t.RevokedAt)
	}
	p, err := s.pending(custody.EntryTokenRevoke, actor, t.ID, "", custody.TokenRevoked{Nonce: s.nonce(), ID: t.ID})
	if err != nil {
		return nil, err
	}
	out, err := s.cfg.DB.Append(ctx, p)
	if err != nil {
		return nil, err
	}
	t.RevokedAt, t.RevokedBy = out[0].Entry.Time, actor.ID
	s.cfg.Logger.Info("token revoked", "token", t.ID, "user", t.User, "by", actor.Name)
	return t, nil
}

// authenticateScoped returns the user of a scoped API token, with the
// token's role. Errors: EUNAUTHORIZED.
func (s *Service) authenticateScoped(ctx context.Context, h string) (*custody.User, error) {
	t, err := s.cfg.DB.TokenByHash(ctx, h)
	if custody.ErrorCode(err) == custody.ENOTFOUND {
		return nil, custody.Errorf(custody.EUNAUTHORIZED, "invalid or revoked token")
	} else if err != nil {
		return nil, err
	}
	if t.RevokedAt != "" {
		return nil, custody.Errorf(custody.EUNAUTHORIZED, "this token was revoked")
	}
	exp, err := time.Parse(custody.TimeFormat, t.ExpiresAt)
	if err != nil || !s.cfg.Now().Before(exp) {
		return nil, &custody.Error{Code: custody.EUNAUTHORIZED, Message: "this token expired at " + t.ExpiresAt,
			Hint: "ask an administrator for a new one"}
	}
	u, err := s.cfg.DB.UserByID(ctx, t.UserID)
	if custody.ErrorCode(err) == custody.ENOTFOUND {
		return nil, custody.Errorf(custody.EUNAUTHORIZED, "invalid or revoked token")
	} else if err != nil {
		return nil, err
	}
	// The user's role may have changed since: never more than it.
	if !u.Role.MayScopeTo(t.Role) {
		return nil, custody.Errorf(custody.EUNAUTHORIZED, "this token's role is no longer one its user may hold")
	}
	scoped := *u
	scoped.Role = t.Role
	return &scoped, nil
}
