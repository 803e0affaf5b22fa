package evidence

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base32"
	"encoding/binary"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/custody-dev/custody"
)

// TOTP second factor (RFC 6238) with the parameters every authenticator
// app understands: HMAC-SHA-1, 6 digits, 30-second steps counted from the
// Unix epoch, 160-bit keys. A code of the step before or after the current
// one is accepted too (clocks drift), and each step at most once per user:
// a code seen once, or any code of an earlier step, is refused (RFC 6238
// section 5.2).
//
// The key is recorded in the log (a user.totp entry, in its private
// payload, like password hashes) and so kept in the index (users.totp_secret);
// the step last spent is the server's own state (totp_used).

const (
	totpDigits = 6
	totpPeriod = 30 // seconds
	totpSkew   = 1  // steps accepted either side of the current one
	totpKeyLen = 20 // bytes (RFC 4226 recommends 160 bits)
	// TOTPIssuer names Custody in authenticator apps.
	TOTPIssuer = "Custody"
)

var totpEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// hotp is RFC 4226's HOTP value of key at counter, with digits digits
// (1 to 9): dynamic truncation of HMAC-SHA-1.
func hotp(key []byte, counter uint64, digits int) string {
	m := hmac.New(sha1.New, key)
	var c [8]byte
	binary.BigEndian.PutUint64(c[:], counter)
	m.Write(c[:])
	sum := m.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	v := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	out := make([]byte, digits)
	for i := digits - 1; i >= 0; i-- {
		out[i] = byte('0' + v%10)
		v /= 10
	}
	return string(out)
}

// totpStep is the time step of t.
func totpStep(t time.Time) int64 {
	u := t.Unix()
	if u < 0 {
		return 0
	}
	return u / totpPeriod
}

// decodeTOTPKey reads a base32 key, as authenticator apps show it: case
// and spaces do not matter, padding is optional.
func decodeTOTPKey(secret string) ([]byte, error) {
	s := strings.ToUpper(strings.NewReplacer(" ", "", "-", "").Replace(strings.TrimSpace(secret)))
	s = strings.TrimRight(s, "=")
	key, err := totpEncoding.DecodeString(s)
	if err != nil || len(key) < 10 || len(key) > 64 {
		return nil, custody.Errorf(custody.EINVALID, "not a TOTP key: base32 of 10 to 64 bytes expected")
	}
	return key, nil
}

// TOTPCode returns the code of a base32 TOTP key at t, as an authenticator
// app shows it. Errors: EINVALID (not a key).
func TOTPCode(secret string, t time.Time) (string, error) {
	key, err := decodeTOTPKey(secret)
	if err != nil {
		return "", err
	}
	return hotp(key, uint64(totpStep(t)), totpDigits), nil
}

// matchTOTP returns the step within totpSkew of now whose code is code.
// Every candidate is compared, in constant time.
func matchTOTP(key []byte, code string, now time.Time) (int64, bool) {
	if len(code) != totpDigits {
		return 0, false
	}
	cur := totpStep(now)
	found, ok := int64(0), false
	for d := int64(-totpSkew); d <= totpSkew; d++ {
		step := cur + d
		if step < 0 {
			continue
		}
		if subtle.ConstantTimeCompare([]byte(hotp(key, uint64(step), totpDigits)), []byte(code)) == 1 && !ok {
			found, ok = step, true
		}
	}
	return found, ok
}

// normaliseCode drops what people type around a code: spaces, dashes.
func normaliseCode(code string) string {
	return strings.NewReplacer(" ", "", "-", "", "\u00a0", "").Replace(strings.TrimSpace(code))
}

// totpURI is the otpauth:// URI of a key (the Key Uri Format of Google
// Authenticator, which every app reads from a QR code).
func totpURI(account, secret string) string {
	q := url.Values{}
	q.Set("secret", secret)
	q.Set("issuer", TOTPIssuer)
	q.Set("algorithm", "SHA1")
	q.Set("digits", "6")
	q.Set("period", "30")
	return "otpauth://totp/" + url.PathEscape(TOTPIssuer+":"+account) + "?" + q.Encode()
}

// TOTPEnrolment is what a user needs to add Custody to an authenticator
// app: the key as an otpauth:// URI (for a QR code) and as base32 text.
type TOTPEnrolment struct {
	User   string `json:"user"`
	Secret string `json:"secret"`
	URI    string `json:"uri"`
}

// EnrolTOTP gives a user a new TOTP key, replacing any earlier one, and
// records it in the log (a user.totp entry). From then on the user's web
// sign-in asks for a code after the password. The actor must be an
// administrator or the user. Errors: EFORBIDDEN, ENOTFOUND.
func (s *Service) EnrolTOTP(ctx context.Context, actor *custody.User, name string) (*TOTPEnrolment, error) {
	u, err := s.totpTarget(ctx, actor, name)
	if err != nil {
		return nil, err
	}
	key := make([]byte, totpKeyLen)
	if _, err := io.ReadFull(s.cfg.Rand, key); err != nil {
		return nil, custody.Errorf(custody.EUNAVAILABLE, "random source: %v", err)
	}
	secret := totpEncoding.EncodeToString(key)
	if err := s.setTOTP(ctx, actor, u, secret); err != nil {
		return nil, err
	}
	s.cfg.Logger.Info("second factor enrolled", "user", u.Name, "by", actor.Name)
	return &TOTPEnrolment{User: u.Name, Secret: secret, URI: totpURI(u.Name, secret)}, nil
}

// DisableTOTP removes a user's second factor (a user.totp entry without a
// key). The actor must be an administrator or the user.
// Errors: EFORBIDDEN, ENOTFOUND, ECONFLICT (the user has none).
func (s *Service) DisableTOTP(ctx context.Context, actor *custody.User, name string) error {
	u, err := s.totpTarget(ctx, actor, name)
	if err != nil {
		return err
	}
	cur, err := s.cfg.DB.UserTOTP(ctx, u.ID)
	if err != nil {
		return err
	}
	if cur == "" {
		return custody.Errorf(custody.ECONFLICT, "%s has no second factor", u.Name)
	}
	if err := s.setTOTP(ctx, actor, u, ""); err != nil {
		return err
	}
	s.cfg.Logger.Info("second factor removed", "user", u.Name, "by", actor.Name)
	return nil
}

// HasTOTP reports whether a user has a second factor. Errors: ENOTFOUND.
func (s *Service) HasTOTP(ctx context.Context, name string) (bool, error) {
	u, err := s.cfg.DB.UserByName(ctx, name)
	if err != nil {
		return false, err
	}
	secret, err := s.cfg.DB.UserTOTP(ctx, u.ID)
	return secret != "", err
}

func (s *Service) totpTarget(ctx context.Context, actor *custody.User, name string) (*custody.User, error) {
	u, err := s.cfg.DB.UserByName(ctx, name)
	if err != nil {
		return nil, err
	}
	if actor.Role != custody.RoleAdmin && actor.ID != u.ID {
		return nil, custody.Errorf(custody.EFORBIDDEN, "only an admin or %s may change %s's second factor", u.Name, u.Name)
	}
	return u, nil
}

func (s *Service) setTOTP(ctx context.Context, actor, u *custody.User, secret string) error {
	p, err := s.pending(custody.EntryUserTOTP, actor, u.ID, "", custody.UserTOTP{Nonce: s.nonce(), ID: u.ID, Secret: secret})
	if err != nil {
		return err
	}
	if _, err := s.cfg.DB.Append(ctx, p); err != nil {
		return err
	}
	// A new key starts a new count of spent steps.
	if err := s.cfg.DB.ResetTOTPSteps(ctx, u.ID); err != nil {
		s.cfg.Logger.Warn("reset TOTP steps", "user", u.Name, "err", err)
	}
	return nil
}
