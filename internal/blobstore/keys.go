package blobstore

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"filippo.io/age"
	"github.com/custody-dev/custody"
)

// Key ring layout, below a store's data directory (see docs/keys.md):
//
//	<dir>/keys/                 mode 0700
//	<dir>/keys/age-<n>.key      mode 0600, one X25519 identity each, n = 1, 2, ...
//	<dir>/keys/data-<n>.age     mode 0600, a data key for sealed fields (fields.go)
//	<dir>/keys/recipients.txt   optional: more recipients (age1...), one a line
//
// Key files are in the format of age-keygen, so the age command-line tool
// can decrypt a blob by hand: age -d -i keys/age-1.key FILE.age > original.
const isWindows = runtime.GOOS == "windows"

const (
	keysDirName    = "keys"
	recipientsName = "recipients.txt"
	keyPrefix      = "age-"
	keySuffix      = ".key"
)

// ErrNoKey is wrapped by errors reporting content that no identity in the
// key ring decrypts: the keys it was encrypted to are missing, or the part
// of its header that names them is damaged.
var ErrNoKey = errors.New("no key in the store's key ring decrypts this content")

// KeyRing holds a store's age identities and the recipients new data is
// encrypted to. The newest identity (the highest n) is the current one: new
// data is encrypted to its recipient and to every recipient listed in
// recipients.txt. Older identities are kept to decrypt data written before a
// rotation. A KeyRing is immutable and safe for concurrent use; to write
// with the keys of a rotation, load the ring again (to read data written with
// them, a ring reads its directory again by itself: see newer).
type KeyRing struct {
	kd         string                // the key directory
	nums       []int                 // the numbers of ids' files
	fields     *FieldSealer          // the data keys
	ids        []*age.X25519Identity // oldest first; the last is current
	recipients []age.Recipient       // the current identity's, then recipients.txt's
	extra      []string              // recipients.txt's, as written
	identities []age.Identity        // newest first: the likeliest to match comes first
	reload     *ringReload
}

// reloadEvery bounds how often a ring reads its directory again to find
// keys added since it was loaded.
const reloadEvery = 10 * time.Second

type ringReload struct {
	mu   sync.Mutex
	last time.Time
	ring *KeyRing // the newest loaded, or nil
}

// newer returns the key ring as its directory holds it now, for reading
// what was written with keys added after k was loaded (by a rotation on
// another node, say): nil if it cannot be loaded. The directory is read at
// most once every reloadEvery; k itself never changes, and what is written
// keeps using k's keys until the ring is loaded again (a restart).
func (k *KeyRing) newer() *KeyRing {
	r := k.reload
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.last.IsZero() && time.Since(r.last) < reloadEvery {
		return r.ring
	}
	r.last = time.Now()
	if ring, err := loadKeyDir(k.kd); err == nil {
		r.ring = ring
	}
	return r.ring
}

// KeyDir returns the directory holding the key ring of the store in dir.
func KeyDir(dir string) string { return filepath.Join(dir, keysDirName) }

// GenerateKeyRing creates the key ring of the store in dir: it creates
// <dir>/keys (mode 0700), writes a new X25519 identity to
// <dir>/keys/age-1.key (mode 0600), lists the extra recipients (such as
// the public key of a backup identity kept offline) in recipients.txt, and
// writes the first data key, encrypted to the identity and the extra
// recipients, to data-1.age; all durably. Errors: EINVALID (a recipient is
// malformed), ECONFLICT if the directory holds a key already.
func GenerateKeyRing(dir string, extra ...string) error {
	for _, r := range extra {
		if err := CheckRecipient(r); err != nil {
			return err
		}
	}
	kd := KeyDir(dir)
	if err := mkdirPrivate(kd); err != nil {
		return fmt.Errorf("generate key ring: %w", err)
	}
	names, err := keyFiles(kd)
	if err != nil {
		return fmt.Errorf("generate key ring: %w", err)
	}
	if len(names) > 0 {
		return &custody.Error{Code: custody.ECONFLICT,
			Message: fmt.Sprintf("key ring %s exists already", kd),
			Hint:    "to add a key, rotate"}
	}
	if _, err := addIdentity(kd, 1); err != nil {
		return fmt.Errorf("generate key ring: %w", err)
	}
	for _, r := range extra {
		if err := AddRecipient(dir, r); err != nil {
			return fmt.Errorf("generate key ring: %w", err)
		}
	}
	ring, err := loadKeyDir(kd)
	if err != nil {
		return fmt.Errorf("generate key ring: %w", err)
	}
	if err := addDataKey(kd, ring, 1); err != nil {
		return fmt.Errorf("generate key ring: data key: %w", err)
	}
	return nil
}

// Rotate adds a new identity to the key ring of the store in dir, and a new
// data key encrypted to it (and to the extra recipients): once the ring is
// loaded again, new blobs are encrypted to the new identity and new fields
// sealed with the new data key. Data written before stays readable with
// the older identities and data keys, which are kept: see
// Encrypted.Reencrypt and RewrapDataKeys to stop depending on them. It
// returns the number of the new identity. Errors: ENOTFOUND (no key ring
// in dir).
func Rotate(dir string) (int, error) {
	kd := KeyDir(dir)
	nums, err := keyFiles(kd)
	if errors.Is(err, fs.ErrNotExist) || err == nil && len(nums) == 0 {
		return 0, noRing(kd)
	} else if err != nil {
		return 0, fmt.Errorf("rotate keys: %w", err)
	}
	name, err := addIdentity(kd, nums[len(nums)-1]+1)
	if err != nil {
		return 0, fmt.Errorf("rotate keys: %w", err)
	}
	ring, err := loadKeyDir(kd)
	if err != nil {
		return 0, fmt.Errorf("rotate keys: %w", err)
	}
	n := ring.nums[len(ring.nums)-1]
	if filepath.Join(kd, keyName(n)) != name {
		// Another rotation ran at the same time and added a later key:
		// that one is current, and brings its own data key.
		return n, nil
	}
	if err := addDataKey(kd, ring, n); err != nil && !errors.Is(err, fs.ErrExist) {
		return 0, fmt.Errorf("rotate keys: data key: %w", err)
	}
	return n, nil
}

// AddRecipient appends an age recipient (age1...) to <dir>/keys/recipients.txt,
// unless it is listed already, such as the public key of a backup identity
// kept offline: everything encrypted from then on can also be decrypted with
// that identity (see Encrypted.Reencrypt for what was before). Errors:
// EINVALID (not an X25519 recipient), ENOTFOUND (no key ring in dir).
func AddRecipient(dir, recipient string) error {
	recipient = strings.TrimSpace(recipient)
	if err := CheckRecipient(recipient); err != nil {
		return err
	}
	kd := KeyDir(dir)
	if nums, err := keyFiles(kd); errors.Is(err, fs.ErrNotExist) || err == nil && len(nums) == 0 {
		return noRing(kd)
	} else if err != nil {
		return fmt.Errorf("add recipient: %w", err)
	}
	name := filepath.Join(kd, recipientsName)
	old, err := os.ReadFile(name)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("add recipient: %w", err)
	}
	if present, err := parseRecipients(old); err == nil && slices.Contains(present, recipient) {
		return nil // there already
	}
	if len(old) > 0 && old[len(old)-1] != '\n' {
		old = append(old, '\n')
	}
	data := append(old, recipient+"\n"...)
	if err := writeFileAtomic(kd, recipientsName, data, true); err != nil {
		return fmt.Errorf("add recipient: %w", err)
	}
	return nil
}

// CheckRecipient checks that s (spaces around it aside) is an age X25519
// recipient, a public key age1... Errors: EINVALID.
func CheckRecipient(s string) error {
	s = strings.TrimSpace(s)
	if _, err := age.ParseX25519Recipient(s); err != nil {
		return &custody.Error{Code: custody.EINVALID,
			Message: fmt.Sprintf("%q is not an age recipient", truncateString(s, 80)),
			Hint:    "want a public key starting with age1, as printed by age-keygen -y"}
	}
	return nil
}

// LoadKeyRing reads the key ring of the store in dir. Key files must not be
// readable by group or others (mode 0600), as ssh insists of its keys.
// Errors: ENOTFOUND (no key ring), EINVALID (a key file is malformed or
// too open, or recipients.txt is malformed).
func LoadKeyRing(dir string) (*KeyRing, error) { return loadKeyDir(KeyDir(dir)) }

// loadKeyDir reads the key ring in the key directory kd.
func loadKeyDir(kd string) (*KeyRing, error) {
	nums, err := keyFiles(kd)
	if errors.Is(err, fs.ErrNotExist) || err == nil && len(nums) == 0 {
		return nil, noRing(kd)
	} else if err != nil {
		return nil, fmt.Errorf("load key ring: %w", err)
	}
	k := &KeyRing{kd: kd, nums: nums, reload: &ringReload{}}
	for _, n := range nums {
		id, err := readIdentity(filepath.Join(kd, keyName(n)))
		if err != nil {
			return nil, err
		}
		k.ids = append(k.ids, id)
	}
	k.recipients = []age.Recipient{k.ids[len(k.ids)-1].Recipient()}
	name := filepath.Join(kd, recipientsName)
	data, err := os.ReadFile(name)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("load key ring: %w", err)
	default:
		extra, err := parseRecipients(data)
		if err != nil {
			return nil, &custody.Error{Code: custody.EINVALID,
				Message: fmt.Sprintf("%s: %v", name, err),
				Hint:    "list one age1... public key a line; lines starting with # are comments"}
		}
		for _, s := range extra {
			r, _ := age.ParseX25519Recipient(s) // checked by parseRecipients
			k.recipients = append(k.recipients, r)
		}
		k.extra = extra
	}
	for _, id := range slices.Backward(k.ids) {
		k.identities = append(k.identities, id)
	}
	if err := k.loadFields(kd); err != nil {
		return nil, err
	}
	return k, nil
}

// Dir returns the key directory the ring was loaded from.
func (k *KeyRing) Dir() string { return k.kd }

// Recipient returns the public key (age1...) of the current identity.
func (k *KeyRing) Recipient() string { return k.ids[len(k.ids)-1].Recipient().String() }

// ExtraRecipients returns the recipients from recipients.txt, such as
// offline backup keys, in file order.
func (k *KeyRing) ExtraRecipients() []string { return slices.Clone(k.extra) }

// Len returns the number of identities in the ring.
func (k *KeyRing) Len() int { return len(k.ids) }

// Recipients returns what new data is encrypted to: the current identity's
// recipient first, then the extra recipients.
func (k *KeyRing) Recipients() []age.Recipient { return slices.Clone(k.recipients) }

// Identities returns every identity of the ring, newest first.
func (k *KeyRing) Identities() []age.Identity { return slices.Clone(k.identities) }

func (k *KeyRing) current() age.Identity { return k.ids[len(k.ids)-1] }

// SealOverhead is how many bytes Seal adds to a plaintext of up to 64 KiB
// encrypted to one recipient: the age header (intro line, one X25519
// stanza, MAC line: 168 bytes), the 16-byte stream nonce and one 16-byte
// authentication tag. Each further X25519 recipient adds
// SealRecipientOverhead bytes, and each further 64 KiB of plaintext 16.
const (
	SealOverhead          = 200
	SealRecipientOverhead = 98
)

// Seal encrypts plaintext to the ring's recipients in the age binary format,
// for sensitive fields kept outside the blob store (a database column, say).
// The result is SealOverhead bytes longer for short plaintexts (see there),
// and differs each time: equal plaintexts cannot be told apart by their
// ciphertexts, so sealed fields cannot be searched or indexed.
func (k *KeyRing) Seal(plaintext []byte) ([]byte, error) {
	out := bytes.NewBuffer(make([]byte, 0, len(plaintext)+SealOverhead+
		SealRecipientOverhead*(len(k.recipients)-1)+16*(len(plaintext)>>16)))
	w, err := age.Encrypt(out, k.recipients...)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	if _, err := w.Write(plaintext); err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	return out.Bytes(), nil
}

// Open decrypts what Seal returned, with any identity of the ring. Errors:
// ETAMPERED (the ciphertext is damaged or was altered), an error wrapping
// ErrNoKey (no identity of the ring decrypts it).
func (k *KeyRing) Open(ciphertext []byte) ([]byte, error) {
	src := &errRecorder{r: bytes.NewReader(ciphertext)}
	r, err := age.Decrypt(src, k.identities...)
	if err != nil {
		return nil, fmt.Errorf("open sealed field: %w", classifyAgeErr(err, src, "sealed field"))
	}
	out, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("open sealed field: %w", classifyAgeErr(err, src, "sealed field"))
	}
	return out, nil
}

// classifyAgeErr turns an error from age into a custody error: an I/O error
// of the source is passed on; an identity mismatch wraps ErrNoKey; anything
// else (a malformed header, a bad MAC, a chunk failing authentication,
// truncation) is ETAMPERED.
func classifyAgeErr(err error, src *errRecorder, what string) error {
	if src.err != nil {
		return src.err
	}
	var noMatch *age.NoIdentityMatchError
	if errors.As(err, &noMatch) {
		return fmt.Errorf("%w: %w: %w", &custody.Error{Code: custody.EINTERNAL,
			Message: what + " is encrypted to none of the store's keys",
			Hint:    "restore the store's keys/ directory from its backup; see docs/keys.md"}, ErrNoKey, err)
	}
	// age's error as text only: it may wrap io.ErrUnexpectedEOF, which
	// callers must not mistake for the end of some content.
	return custody.Errorf(custody.ETAMPERED, "%s fails authentication: its ciphertext is damaged or was altered (%v)", what, err)
}

// errRecorder remembers the first error of r other than io.EOF, so that
// failures of the storage are told apart from failures of authentication.
type errRecorder struct {
	r   io.Reader
	err error
}

func (e *errRecorder) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF && e.err == nil {
		e.err = err
	}
	return n, err
}

func noRing(kd string) error {
	return &custody.Error{Code: custody.ENOTFOUND,
		Message: fmt.Sprintf("no key ring in %s", kd),
		Hint:    "generate one, or restore keys/ from its backup"}
}

func keyName(n int) string { return keyPrefix + strconv.Itoa(n) + keySuffix }

// keyFiles returns the numbers n of the files age-<n>.key in kd, ascending.
// Other files are ignored.
func keyFiles(kd string) ([]int, error) {
	entries, err := os.ReadDir(kd)
	if err != nil {
		return nil, err
	}
	var nums []int
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, keyPrefix) || !strings.HasSuffix(name, keySuffix) || !e.Type().IsRegular() {
			continue
		}
		digits := name[len(keyPrefix) : len(name)-len(keySuffix)]
		n, err := strconv.Atoi(digits)
		if err != nil || n < 1 || strconv.Itoa(n) != digits {
			continue
		}
		nums = append(nums, n)
	}
	slices.Sort(nums)
	return nums, nil
}

// addIdentity writes a new identity to age-<n>.key, or to the next free
// number if another process took n meanwhile, and returns its file name.
func addIdentity(kd string, n int) (string, error) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		return "", err
	}
	data := fmt.Appendf(nil, "# created: %s\n# public key: %s\n%s\n",
		time.Now().UTC().Format(time.RFC3339), id.Recipient(), id)
	for ; ; n++ {
		err := writeFileAtomic(kd, keyName(n), data, false)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return "", err
		}
		return filepath.Join(kd, keyName(n)), nil
	}
}

// writeFileAtomic writes data to kd/name with mode 0600: a temporary file,
// fsynced, then linked (never replacing: fs.ErrExist if name exists) or, if
// replace, renamed into place; then the directory is fsynced.
func writeFileAtomic(kd, name string, data []byte, replace bool) (err error) {
	f, err := os.CreateTemp(kd, ".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if f != nil {
			f.Close()
		}
		if rmErr := os.Remove(tmp); rmErr != nil && !errors.Is(rmErr, fs.ErrNotExist) && err == nil {
			err = rmErr
		}
	}()
	if err := f.Chmod(0o600); err != nil && runtime.GOOS != "windows" {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	err = f.Close()
	f = nil
	if err != nil {
		return err
	}
	final := filepath.Join(kd, name)
	if replace {
		err = os.Rename(tmp, final)
	} else {
		err = os.Link(tmp, final)
	}
	if err != nil {
		return err
	}
	return syncDir(kd)
}

// mkdirPrivate creates dir with mode 0700 if missing (its parents as
// needed, durably), and tightens an existing one to 0700.
func mkdirPrivate(dir string) error {
	if err := mkdirSync(filepath.Dir(dir)); err != nil {
		return err
	}
	err := os.Mkdir(dir, 0o700)
	if errors.Is(err, fs.ErrExist) {
		fi, err := os.Stat(dir)
		if err != nil {
			return err
		}
		if !fi.IsDir() {
			return fmt.Errorf("%s is not a directory", dir)
		}
		if fi.Mode().Perm() != 0o700 && runtime.GOOS != "windows" {
			return os.Chmod(dir, 0o700)
		}
		return nil
	} else if err != nil {
		return err
	}
	// The umask may have narrowed 0700; make it exact.
	if err := os.Chmod(dir, 0o700); err != nil && runtime.GOOS != "windows" {
		return err
	}
	return syncDir(filepath.Dir(dir))
}

// readIdentity reads one X25519 identity from a key file, refusing a file
// that group or others can read.
func readIdentity(name string) (*age.X25519Identity, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("load key ring: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("load key ring: %w", err)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return nil, &custody.Error{Code: custody.EINVALID,
			Message: fmt.Sprintf("key file %s is accessible to others (mode %04o)", name, perm),
			Hint:    "chmod 600 " + name}
	}
	ids, err := age.ParseIdentities(io.LimitReader(f, 64<<10))
	if err != nil {
		return nil, &custody.Error{Code: custody.EINVALID,
			Message: fmt.Sprintf("key file %s is malformed", name),
			Hint:    "want one AGE-SECRET-KEY-1... line, as written by age-keygen"}
	}
	if len(ids) != 1 {
		return nil, &custody.Error{Code: custody.EINVALID,
			Message: fmt.Sprintf("key file %s holds %d identities, want 1", name, len(ids))}
	}
	id, ok := ids[0].(*age.X25519Identity)
	if !ok {
		return nil, &custody.Error{Code: custody.EINVALID,
			Message: fmt.Sprintf("key file %s does not hold an X25519 identity", name)}
	}
	return id, nil
}

// parseRecipients parses recipients.txt: one X25519 recipient a line; blank
// lines and lines starting with # are ignored.
func parseRecipients(data []byte) ([]string, error) {
	var out []string
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if _, err := age.ParseX25519Recipient(line); err != nil {
			return nil, fmt.Errorf("line %d is not an age1... recipient", i+1)
		}
		if !slices.Contains(out, line) {
			out = append(out, line)
		}
	}
	return out, nil
}

func truncateString(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
