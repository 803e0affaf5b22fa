package blobstore

import (
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"filippo.io/age"
	"github.com/custody-dev/custody"
	"golang.org/x/crypto/chacha20poly1305"
)

// Sensitive fields kept outside the blob store (the private payloads of log
// entries, in the database and in payload bundles) are sealed by envelope
// encryption: each is encrypted with XChaCha20-Poly1305 under a random
// 256-bit data key, and the data key itself is kept in the key ring's
// directory as a small age file encrypted to the ring's recipients:
//
//	<dir>/keys/data-<n>.age    mode 0600, the data key created with age-<n>.key
//
// Sealing a field costs a random nonce and one AEAD pass (about a
// microsecond for a few hundred bytes), where age would cost an X25519
// exchange per field. A rotation adds a data key; the newest one seals, and
// every one the ring can open still opens what it sealed.
//
// A sealed field is:
//
//	0x00 0x01                  marker and format version (never the start of JSON)
//	uint32, big-endian         the number n of the data key
//	24 bytes                   the XChaCha20-Poly1305 nonce, random
//	ciphertext and 16-byte tag (the first 6 bytes are its additional data)
const (
	fieldMarker  = 0x00
	fieldVersion = 0x01
	fieldPrefix  = 2 + 4
	// FieldOverhead is how many bytes FieldSealer.Seal adds to a field.
	FieldOverhead = fieldPrefix + chacha20poly1305.NonceSizeX + chacha20poly1305.Overhead

	dataKeyPrefix = "data-"
	dataKeySuffix = ".age"
	dataKeySize   = chacha20poly1305.KeySize
)

// FieldSealer seals and opens sensitive fields with the data keys of a key
// ring. It is safe for concurrent use. It seals with the ring's current data
// key; it opens with any of the ring's, and with those found in the key
// directory later (see KeyRing.newer).
type FieldSealer struct {
	ring    *KeyRing
	kd      string
	aeads   map[uint32]cipher.AEAD
	bad     map[uint32]error // data key files the ring cannot open
	current uint32           // 0: no data key
}

// IsSealed reports whether b has the form of a sealed field (it may still
// fail to open). Plaintext payloads are JSON objects and never are.
func IsSealed(b []byte) bool { return len(b) > 0 && b[0] == fieldMarker }

// Seal appends the sealed form of plaintext to dst and returns the result,
// FieldOverhead bytes longer than plaintext. Equal plaintexts seal to
// different fields. Errors: EINTERNAL if the ring has no data key.
func (f *FieldSealer) Seal(dst, plaintext []byte) ([]byte, error) {
	aead := f.aeads[f.current]
	if aead == nil {
		return nil, &custody.Error{Code: custody.EINTERNAL,
			Message: fmt.Sprintf("the key ring %s has no data key to seal with", f.kd),
			Hint:    "run custody keys rotate, which creates one"}
	}
	total := len(dst) + FieldOverhead + len(plaintext)
	out := slices.Grow(dst, FieldOverhead+len(plaintext))[:total]
	b := out[len(dst):]
	b[0], b[1] = fieldMarker, fieldVersion
	binary.BigEndian.PutUint32(b[2:fieldPrefix], f.current)
	nonce := b[fieldPrefix : fieldPrefix+chacha20poly1305.NonceSizeX]
	rand.Read(nonce) // never fails (crypto/rand)
	aead.Seal(nonce[len(nonce):len(nonce)], nonce, plaintext, b[:fieldPrefix])
	return out, nil
}

// Open appends the plaintext of a sealed field to dst. Errors: ETAMPERED
// (malformed, or failing authentication: damaged or altered), an error
// wrapping ErrNoKey (its data key is missing from the ring, or no identity
// of the ring opens it).
func (f *FieldSealer) Open(dst, sealed []byte) ([]byte, error) {
	if len(sealed) < FieldOverhead || sealed[0] != fieldMarker {
		return nil, custody.Errorf(custody.ETAMPERED, "sealed field of %d bytes is malformed", len(sealed))
	}
	if sealed[1] != fieldVersion {
		return nil, &custody.Error{Code: custody.EUNSUPPORTED,
			Message: fmt.Sprintf("sealed field has format version %d; this custody knows %d", sealed[1], fieldVersion),
			Hint:    "upgrade custody"}
	}
	n := binary.BigEndian.Uint32(sealed[2:fieldPrefix])
	aead := f.aeads[n]
	if aead == nil && f.ring != nil {
		// Sealed with a data key added since the ring was loaded?
		if newer := f.ring.newer(); newer != nil {
			aead = newer.fields.aeads[n]
		}
	}
	if aead == nil {
		name := filepath.Join(f.kd, dataKeyName(int(n)))
		why := "is missing"
		if err := f.bad[n]; err != nil {
			why = "cannot be opened: " + custody.ErrorMessage(err)
		}
		return nil, fmt.Errorf("%w: %w", &custody.Error{Code: custody.EINTERNAL,
			Message: fmt.Sprintf("sealed field needs data key %d, and %s %s", n, name, why),
			Hint:    "restore the store's keys/ directory from its backup; see docs/keys.md"}, ErrNoKey)
	}
	nonce := sealed[fieldPrefix : fieldPrefix+chacha20poly1305.NonceSizeX]
	out, err := aead.Open(dst, nonce, sealed[fieldPrefix+len(nonce):], sealed[:fieldPrefix])
	if err != nil {
		return nil, custody.Errorf(custody.ETAMPERED, "sealed field fails authentication: it is damaged or was altered")
	}
	return out, nil
}

// Current returns the number of the data key that seals, or 0 if there is
// none.
func (f *FieldSealer) Current() int { return int(f.current) }

func dataKeyName(n int) string { return dataKeyPrefix + strconv.Itoa(n) + dataKeySuffix }

// dataKeyFiles returns the numbers n of the files data-<n>.age in kd,
// ascending.
func dataKeyFiles(kd string) ([]int, error) {
	entries, err := os.ReadDir(kd)
	if err != nil {
		return nil, err
	}
	var nums []int
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, dataKeyPrefix) || !strings.HasSuffix(name, dataKeySuffix) || !e.Type().IsRegular() {
			continue
		}
		digits := name[len(dataKeyPrefix) : len(name)-len(dataKeySuffix)]
		n, err := strconv.Atoi(digits)
		if err != nil || n < 1 || n > 1<<31 || strconv.Itoa(n) != digits {
			continue
		}
		nums = append(nums, n)
	}
	slices.Sort(nums)
	return nums, nil
}

// loadFields opens the data keys in kd with the ring's identities. A data
// key that no identity opens is recorded, not fatal: fields it sealed fail
// to open, naming it, while everything else works.
func (k *KeyRing) loadFields(kd string) error {
	f := &FieldSealer{ring: k, kd: kd, aeads: make(map[uint32]cipher.AEAD), bad: make(map[uint32]error)}
	nums, err := dataKeyFiles(kd)
	if err != nil {
		return fmt.Errorf("load key ring: %w", err)
	}
	for _, n := range nums {
		name := filepath.Join(kd, dataKeyName(n))
		key, err := k.readDataKey(name)
		if err != nil {
			if !errors.Is(err, ErrNoKey) && custody.ErrorCode(err) != custody.ETAMPERED {
				return err // unreadable, or readable by others
			}
			f.bad[uint32(n)] = err
			continue
		}
		aead, err := chacha20poly1305.NewX(key)
		clear(key)
		if err != nil {
			return fmt.Errorf("load key ring: %s: %w", name, err)
		}
		f.aeads[uint32(n)] = aead
		f.current = uint32(n)
	}
	k.fields = f
	return nil
}

// readDataKey reads and decrypts the data key file name.
func (k *KeyRing) readDataKey(name string) ([]byte, error) {
	fi, err := os.Stat(name)
	if err != nil {
		return nil, fmt.Errorf("load key ring: %w", err)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 && !isWindows {
		return nil, &custody.Error{Code: custody.EINVALID,
			Message: fmt.Sprintf("data key file %s is accessible to others (mode %04o)", name, perm),
			Hint:    "chmod 600 " + name}
	}
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("load key ring: %w", err)
	}
	key, err := k.Open(data)
	if err != nil {
		return nil, fmt.Errorf("data key file %s: %w", name, err)
	}
	if len(key) != dataKeySize {
		return nil, custody.Errorf(custody.ETAMPERED, "data key file %s holds %d bytes, want %d", name, len(key), dataKeySize)
	}
	return key, nil
}

// addDataKey writes a new data key, encrypted to ring's recipients, to
// kd/data-<n>.age (never replacing one).
func addDataKey(kd string, ring *KeyRing, n int) error {
	key := make([]byte, dataKeySize)
	rand.Read(key)
	defer clear(key)
	sealed, err := ring.Seal(key)
	if err != nil {
		return err
	}
	return writeFileAtomic(kd, dataKeyName(n), sealed, false)
}

// Fields returns the sealer of sensitive fields, with the ring's data keys.
func (k *KeyRing) Fields() *FieldSealer { return k.fields }

// RewrapDataKeys encrypts the data keys of the ring in dir again, to the
// ring's current recipients: with all false, only those the current
// identity cannot open (after Rotate); with all true, every one (after
// adding a recipient). The keys themselves do not change, so nothing they
// sealed needs rewriting. Each file is replaced atomically. It returns how
// many files it rewrote. Errors: ENOTFOUND (no key ring), and those of
// loading the ring; a data key that no identity opens is reported (wrapping
// ErrNoKey) and left as it is.
func RewrapDataKeys(dir string, all bool) (int, error) {
	k, err := LoadKeyRing(dir)
	if err != nil {
		return 0, err
	}
	kd := KeyDir(dir)
	nums, err := dataKeyFiles(kd)
	if err != nil {
		return 0, fmt.Errorf("rewrap data keys: %w", err)
	}
	done := 0
	var errs []error
	for _, n := range nums {
		name := filepath.Join(kd, dataKeyName(n))
		data, err := os.ReadFile(name)
		if err != nil {
			errs = append(errs, fmt.Errorf("rewrap data keys: %w", err))
			continue
		}
		if !all {
			hdr, err := age.ExtractHeader(strings.NewReader(string(data)))
			if err == nil {
				if _, err := age.DecryptHeader(hdr, k.current()); err == nil {
					continue // the current identity opens it
				}
			}
		}
		key, err := k.readDataKey(name)
		if err != nil {
			errs = append(errs, fmt.Errorf("rewrap data key %d: %w", n, err))
			continue
		}
		sealed, err := k.Seal(key)
		clear(key)
		if err == nil {
			err = writeFileAtomic(kd, dataKeyName(n), sealed, true)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("rewrap data key %d: %w", n, err))
			continue
		}
		done++
	}
	return done, errors.Join(errs...)
}

// KeyInfo describes a file of a key ring, for listing.
type KeyInfo struct {
	N         int    // the number in the file name
	File      string // absolute path
	Recipient string // identities: the public key (age1...)
	Current   bool   // the one new data is encrypted or sealed with
	Err       error  // data keys: why the ring cannot open it (nil if it can)
}

// IdentityInfo lists the ring's identities, oldest first.
func (k *KeyRing) IdentityInfo() []KeyInfo {
	out := make([]KeyInfo, len(k.ids))
	for i, id := range k.ids {
		out[i] = KeyInfo{N: k.nums[i], File: filepath.Join(k.kd, keyName(k.nums[i])),
			Recipient: id.Recipient().String(), Current: i == len(k.ids)-1}
	}
	return out
}

// DataKeyInfo lists the ring's data keys, oldest first, including those it
// cannot open.
func (k *KeyRing) DataKeyInfo() []KeyInfo {
	var out []KeyInfo
	for n := range k.fields.aeads {
		out = append(out, KeyInfo{N: int(n), Current: n == k.fields.current})
	}
	for n, err := range k.fields.bad {
		out = append(out, KeyInfo{N: int(n), Err: err})
	}
	slices.SortFunc(out, func(a, b KeyInfo) int { return a.N - b.N })
	for i := range out {
		out[i].File = filepath.Join(k.kd, dataKeyName(out[i].N))
	}
	return out
}

// BackupKeys copies the key ring of the store in dir to dst, a directory
// that must not exist or be empty (on removable media, say): every identity,
// data key and recipients.txt, mode 0600 in a directory of mode 0700, each
// fsynced. The copy is then loaded as a key ring and compared with the
// original, so a backup that could not restore the store is reported rather
// than trusted. Errors: ENOTFOUND (no key ring), ECONFLICT (dst is not
// empty).
func BackupKeys(dir, dst string) error {
	k, err := LoadKeyRing(dir)
	if err != nil {
		return err
	}
	if ents, err := os.ReadDir(dst); err == nil && len(ents) > 0 {
		return &custody.Error{Code: custody.ECONFLICT, Message: fmt.Sprintf("%s exists and is not empty", dst),
			Hint: "give a new or empty directory"}
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("back up keys: %w", err)
	}
	if err := mkdirPrivate(dst); err != nil {
		return fmt.Errorf("back up keys: %w", err)
	}
	kd := KeyDir(dir)
	var names []string
	for _, n := range k.nums {
		names = append(names, keyName(n))
	}
	nums, err := dataKeyFiles(kd)
	if err != nil {
		return fmt.Errorf("back up keys: %w", err)
	}
	for _, n := range nums {
		names = append(names, dataKeyName(n))
	}
	if _, err := os.Stat(filepath.Join(kd, recipientsName)); err == nil {
		names = append(names, recipientsName)
	}
	for _, name := range names {
		data, err := os.ReadFile(filepath.Join(kd, name))
		if err != nil {
			return fmt.Errorf("back up keys: %w", err)
		}
		if err := writeFileAtomic(dst, name, data, false); err != nil {
			return fmt.Errorf("back up keys: write %s: %w", filepath.Join(dst, name), err)
		}
	}
	copyRing, err := loadKeyDir(dst)
	if err != nil {
		return fmt.Errorf("back up keys: the copy does not load: %w", err)
	}
	if copyRing.Recipient() != k.Recipient() || copyRing.Len() != k.Len() ||
		len(copyRing.fields.aeads) != len(k.fields.aeads) || !slices.Equal(copyRing.extra, k.extra) {
		return fmt.Errorf("back up keys: the copy in %s differs from the key ring", dst)
	}
	return nil
}
