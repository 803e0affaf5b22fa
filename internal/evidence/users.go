package evidence

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/custody-dev/custody"
	"golang.org/x/crypto/argon2"
)

// TokenPrefix starts every API token, so that leaked tokens are easy to
// recognise in logs and by secret scanners.
const TokenPrefix = "cst_"

// argon2id parameters (RFC 9106 second recommended option, memory-constrained).
const (
	argonTime    = 3
	argonMemory  = 64 * 1024
	argonThreads = 2
	argonKeyLen  = 32
)

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

func (s *Service) newToken() string {
	var b [32]byte
	if _, err := io.ReadFull(s.cfg.Rand, b[:]); err != nil {
		panic(fmt.Sprintf("random source: %v", err))
	}
	return TokenPrefix + base64.RawURLEncoding.EncodeToString(b[:])
}

// HashPassword returns an argon2id PHC string for password.
func (s *Service) HashPassword(password string) string {
	salt := make([]byte, 16)
	if _, err := io.ReadFull(s.cfg.Rand, salt); err != nil {
		panic(fmt.Sprintf("random source: %v", err))
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// CheckPassword reports whether password matches an argon2id PHC string.
func CheckPassword(phc, password string) bool {
	parts := strings.Split(phc, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m > 1<<21 || t > 16 || p == 0 {
		return false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 || len(want) > 64 {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

func validUserName(name string) error {
	if name == "" || len(name) > 64 {
		return custody.Errorf(custody.EINVALID, "a user name is 1 to 64 characters")
	}
	for _, r := range name {
		if !(r == '.' || r == '-' || r == '_' || r == '@' || '0' <= r && r <= '9' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z') {
			return &custody.Error{Code: custody.EINVALID, Message: fmt.Sprintf("user name %q has a character other than letters, digits, . - _ @", truncate(name, 64)),
				Hint: "for example o.kovalenko"}
		}
	}
	return nil
}

// CreateUser adds a user with a fresh API token (returned once, stored
// hashed) and, if password is not empty, an argon2id password hash.
func (s *Service) CreateUser(ctx context.Context, actor *custody.User, name string, role custody.Role, password string) (*custody.User, string, error) {
	if actor.Role != custody.RoleAdmin {
		return nil, "", custody.Errorf(custody.EFORBIDDEN, "only an admin may add users")
	}
	if err := validUserName(name); err != nil {
		return nil, "", err
	}
	if _, err := custody.ParseRole(string(role)); err != nil {
		return nil, "", err
	}
	if password != "" {
		if err := checkPassword(password); err != nil {
			return nil, "", err
		}
	}
	token := s.newToken()
	u := custody.UserAdded{Nonce: s.nonce(), ID: s.newID(), Name: name, Role: role, TokenHash: hashToken(token)}
	if password != "" {
		u.PasswordHash = s.HashPassword(password)
	}
	p, err := s.pending(custody.EntryUserAdd, actor, u.ID, "", u)
	if err != nil {
		return nil, "", err
	}
	out, err := s.cfg.DB.Append(ctx, p)
	if err != nil {
		return nil, "", err
	}
	return &custody.User{ID: u.ID, Name: name, Role: role, CreatedAt: out[0].Entry.Time, LogIndex: out[0].Index}, token, nil
}

// NewToken replaces a user's API token; the old one stops working.
func (s *Service) NewToken(ctx context.Context, actor *custody.User, name string) (string, error) {
	if actor.Role != custody.RoleAdmin {
		return "", custody.Errorf(custody.EFORBIDDEN, "only an admin may issue tokens")
	}
	u, err := s.cfg.DB.UserByName(ctx, name)
	if err != nil {
		return "", err
	}
	token := s.newToken()
	p, err := s.pending(custody.EntryUserToken, actor, u.ID, "", custody.UserAdded{Nonce: s.nonce(), ID: u.ID, Name: u.Name, Role: u.Role, TokenHash: hashToken(token)})
	if err != nil {
		return "", err
	}
	if _, err := s.cfg.DB.Append(ctx, p); err != nil {
		return "", err
	}
	return token, nil
}

// Authenticate returns the owner of an API token: the user's own token
// (user.add, user.token), or a scoped one (token.add, tokens.go), in which
// case the user returned has the token's role. Errors: EUNAUTHORIZED
// (unknown, revoked or expired).
func (s *Service) Authenticate(ctx context.Context, token string) (*custody.User, error) {
	if !strings.HasPrefix(token, TokenPrefix) || len(token) > 128 {
		return nil, custody.Errorf(custody.EUNAUTHORIZED, "invalid or revoked token")
	}
	h := hashToken(token)
	u, err := s.cfg.DB.UserByTokenHash(ctx, h)
	if custody.ErrorCode(err) == custody.EUNAUTHORIZED {
		return s.authenticateScoped(ctx, h)
	}
	return u, err
}

// SetPassword sets or resets the sign-in password of an existing user (a
// user.password entry), signs the user out everywhere and lifts any
// lock-out of the name. The actor must be an administrator.
// Errors: EFORBIDDEN, EINVALID, ENOTFOUND.
func (s *Service) SetPassword(ctx context.Context, actor *custody.User, name, password string) error {
	if actor.Role != custody.RoleAdmin {
		return custody.Errorf(custody.EFORBIDDEN, "only an admin may set passwords")
	}
	if err := checkPassword(password); err != nil {
		return err
	}
	u, err := s.cfg.DB.UserByName(ctx, name)
	if err != nil {
		return err
	}
	p, err := s.pending(custody.EntryUserPassword, actor, u.ID, "", custody.UserPassword{Nonce: s.nonce(), ID: u.ID,
		PasswordHash: s.HashPassword(password)})
	if err != nil {
		return err
	}
	if _, err := s.cfg.DB.Append(ctx, p); err != nil {
		return err
	}
	n, err := s.cfg.DB.DeleteUserSessionsCount(ctx, u.ID)
	if err != nil {
		return fmt.Errorf("password set, but the user's sessions could not be ended: %w", err)
	}
	if _, err := s.cfg.DB.DeleteSignInAccount(ctx, u.Name); err != nil {
		return fmt.Errorf("password set, but the lock-out could not be lifted: %w", err)
	}
	s.cfg.Logger.Info("password set", "user", u.Name, "by", actor.Name, "sessions_ended", n)
	return nil
}

// checkPassword checks a new password's length: 12 to 1024 bytes, at
// least 12 characters.
func checkPassword(password string) error {
	if utf8.RuneCountInString(password) < 12 {
		return custody.Errorf(custody.EINVALID, "a password has at least 12 characters")
	}
	if len(password) > 1024 {
		return custody.Errorf(custody.EINVALID, "a password has at most 1024 bytes")
	}
	return nil
}
