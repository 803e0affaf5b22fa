package evidence

import (
	"encoding/base32"
	"net/url"
	"strings"
	"testing"
	"time"
)

// RFC 6238 appendix B, the SHA-1 rows: the key is the ASCII of
// "12345678901234567890", codes have 8 digits, steps are 30 s from T0 = 0.
func TestTOTPVectors(t *testing.T) {
	key := []byte("12345678901234567890")
	for _, v := range []struct {
		unix int64
		code string
	}{
		{59, "94287082"},
		{1111111109, "07081804"},
		{1111111111, "14050471"},
		{1234567890, "89005924"},
		{2000000000, "69279037"},
		{20000000000, "65353130"},
	} {
		at := time.Unix(v.unix, 0)
		if got := hotp(key, uint64(totpStep(at)), 8); got != v.code {
			t.Errorf("TOTP at %d = %s, want %s", v.unix, got, v.code)
		}
		// The 6-digit code (what apps show) is the last six digits.
		secret := base32.StdEncoding.EncodeToString(key)
		got, err := TOTPCode(secret, at)
		if err != nil {
			t.Fatal(err)
		}
		if got != v.code[2:] {
			t.Errorf("TOTPCode at %d = %s, want %s", v.unix, got, v.code[2:])
		}
	}
}

// RFC 4226 appendix D: HOTP values of the same key for counters 0 to 9.
func TestHOTPVectors(t *testing.T) {
	key := []byte("12345678901234567890")
	want := []string{"755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"}
	for c, w := range want {
		if got := hotp(key, uint64(c), 6); got != w {
			t.Errorf("HOTP(%d) = %s, want %s", c, got, w)
		}
	}
}

func TestMatchTOTP(t *testing.T) {
	key := []byte("12345678901234567890")
	now := time.Unix(1111111111, 0)
	cur := totpStep(now)
	for _, tc := range []struct {
		delta int64
		ok    bool
	}{{-2, false}, {-1, true}, {0, true}, {1, true}, {2, false}} {
		code := hotp(key, uint64(cur+tc.delta), 6)
		step, ok := matchTOTP(key, code, now)
		if ok != tc.ok || ok && step != cur+tc.delta {
			t.Errorf("code of step %+d: match = %d, %v; want %v", tc.delta, step, ok, tc.ok)
		}
	}
	for _, bad := range []string{"", "12345", "1234567", "abcdef", hotp(key, uint64(cur), 8)} {
		if _, ok := matchTOTP(key, bad, now); ok {
			t.Errorf("matchTOTP accepted %q", bad)
		}
	}
}

func TestDecodeTOTPKey(t *testing.T) {
	key := []byte("12345678901234567890")
	enc := totpEncoding.EncodeToString(key)
	spaced := strings.ToLower(enc[:4] + " " + enc[4:8] + "-" + enc[8:])
	for _, s := range []string{enc, spaced, enc + "===="[:(8-len(enc)%8)%8]} {
		got, err := decodeTOTPKey(s)
		if err != nil || string(got) != string(key) {
			t.Errorf("decodeTOTPKey(%q) = %q, %v", s, got, err)
		}
	}
	for _, bad := range []string{"", "AAAA", "not base32!", strings.Repeat("A", 200)} {
		if _, err := decodeTOTPKey(bad); err == nil {
			t.Errorf("decodeTOTPKey(%q) succeeded", bad)
		}
	}
}

func TestTOTPURI(t *testing.T) {
	u, err := url.Parse(totpURI("o.kovalenko", "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if u.Scheme != "otpauth" || u.Host != "totp" || u.Path != "/Custody:o.kovalenko" || q.Get("secret") != "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ" ||
		q.Get("issuer") != "Custody" || q.Get("digits") != "6" || q.Get("period") != "30" || q.Get("algorithm") != "SHA1" {
		t.Errorf("URI %s", u)
	}
}

func TestClientKey(t *testing.T) {
	for in, want := range map[string]string{
		"":                              "",
		"203.0.113.5:51234":             "203.0.113.5",
		"203.0.113.5":                   "203.0.113.5",
		"[::ffff:203.0.113.5]:80":       "203.0.113.5",
		"[2001:db8:1:2:3:4:5:6]:443":    "2001:db8:1:2::/64",
		"[2001:db8:1:2:ffff::1%eth0]:1": "2001:db8:1:2::/64",
		"2001:db8:1:2::9":               "2001:db8:1:2::/64",
		"not an address":                "not an address",
	} {
		if got := ClientKey(in); got != want {
			t.Errorf("ClientKey(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLockDuration(t *testing.T) {
	want := []time.Duration{15 * time.Minute, 30 * time.Minute, time.Hour, 2 * time.Hour, 4 * time.Hour, 8 * time.Hour, 16 * time.Hour, 24 * time.Hour, 24 * time.Hour}
	for n, w := range want {
		if got := lockDuration(n); got != w {
			t.Errorf("lockDuration(%d) = %v, want %v", n, got, w)
		}
	}
	if got := lockDuration(1000); got != MaxSignInLockout {
		t.Errorf("lockDuration(1000) = %v", got)
	}
}

func TestRefill(t *testing.T) {
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	if got := refill(0, "", now); got != AddrBurst {
		t.Errorf("a new bucket has %v tokens", got)
	}
	if got := refill(0, "garbage", now); got != AddrBurst {
		t.Errorf("a bucket with a bad time has %v tokens", got)
	}
	past := now.Add(-AddrWindow / 2)
	if got := refill(0, formatTime(past), now); got < AddrBurst/2-0.01 || got > AddrBurst/2+0.01 {
		t.Errorf("half a window refills %v tokens, want %v", got, AddrBurst/2)
	}
	if got := refill(5, formatTime(now.Add(-time.Hour)), now); got != AddrBurst {
		t.Errorf("an hour refills to %v, want the burst %v", got, AddrBurst)
	}
	// A clock that went back refills nothing.
	if got := refill(3, formatTime(now.Add(time.Hour)), now); got != 3 {
		t.Errorf("a clock going back gives %v tokens", got)
	}
}

func formatTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000000Z") }
