package ledger

import (
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/custody-dev/custody"
	"github.com/custody-dev/custody/verify"
	"golang.org/x/mod/sumdb/note"
)

// GenerateKey returns a new Ed25519 note signer key and its verifier key,
// both named origin (checkpoint origins are the signing key's name). The
// signer key is a secret: it MUST NOT be logged or stored in the log.
func GenerateKey(rand io.Reader, origin string) (skey, vkey string, err error) {
	if !validOrigin(origin) {
		return "", "", custody.Errorf(custody.EINVALID, "log origin %q: want non-empty UTF-8 without spaces, control characters or '+'", origin)
	}
	skey, vkey, err = note.GenerateKey(rand, origin)
	if err != nil {
		return "", "", custody.Errorf(custody.EINVALID, "generate log key for origin %q: %v", origin, err)
	}
	return skey, vkey, nil
}

// NewCheckpointSigner parses a note signer key made by GenerateKey.
// Errors: EINVALID.
func NewCheckpointSigner(skey string) (note.Signer, error) {
	s, err := note.NewSigner(skey)
	if err != nil {
		// The error text of note.NewSigner does not contain the key.
		return nil, custody.Errorf(custody.EINVALID, "malformed log signer key: %v", err)
	}
	return s, nil
}

// SignCheckpoint returns the signed tlog-checkpoint note for st: origin,
// size and base64 root, signed by signer, whose name MUST be origin. The
// caller stores it as the object "checkpoint".
// Errors: EINVALID (name mismatch, malformed origin or state), EINTERNAL.
func SignCheckpoint(signer note.Signer, origin string, st State) ([]byte, error) {
	if signer.Name() != origin {
		return nil, custody.Errorf(custody.EINVALID, "log signer key is named %q, not the origin %q", signer.Name(), origin)
	}
	if _, err := st.compactRange(); err != nil {
		return nil, err
	}
	cp := verify.Checkpoint{Origin: origin, Size: st.Size, Root: st.root()}
	text := cp.Marshal()
	if _, err := verify.ParseCheckpoint(text); err != nil {
		return nil, custody.Errorf(custody.EINVALID, "log origin %q cannot be a checkpoint origin", origin)
	}
	msg, err := note.Sign(&note.Note{Text: string(text)}, signer)
	if err != nil {
		return nil, fmt.Errorf("sign checkpoint: %w", err)
	}
	return msg, nil
}

// validOrigin reports whether origin can be both a note key name and a
// checkpoint origin line.
func validOrigin(origin string) bool {
	return origin != "" && utf8.ValidString(origin) && !strings.ContainsRune(origin, '+') &&
		strings.IndexFunc(origin, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) < 0
}
