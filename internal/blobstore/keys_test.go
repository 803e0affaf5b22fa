package blobstore

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"filippo.io/age"
	"github.com/custody-dev/custody"
)

// newRing generates and loads a key ring in a fresh directory.
func newRing(t testing.TB) (string, *KeyRing) {
	t.Helper()
	dir := t.TempDir()
	if err := GenerateKeyRing(dir); err != nil {
		t.Fatal(err)
	}
	k, err := LoadKeyRing(dir)
	if err != nil {
		t.Fatal(err)
	}
	return dir, k
}

func TestGenerateKeyRing(t *testing.T) {
	dir, k := newRing(t)
	kd := KeyDir(dir)
	if fi, err := os.Stat(kd); err != nil || fi.Mode().Perm() != 0o700 && runtime.GOOS != "windows" {
		t.Errorf("keys directory: %v, %v; want mode 0700", fi.Mode(), err)
	}
	name := filepath.Join(kd, "age-1.key")
	fi, err := os.Stat(name)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 && runtime.GOOS != "windows" {
		t.Errorf("key file mode %v, want 0600", fi.Mode())
	}
	// The file is in age-keygen's format: the age tool can use it.
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := age.ParseIdentities(bytes.NewReader(data))
	if err != nil || len(ids) != 1 {
		t.Fatalf("ParseIdentities: %d, %v", len(ids), err)
	}
	pub := ids[0].(*age.X25519Identity).Recipient().String()
	if k.Recipient() != pub || !strings.Contains(string(data), "# public key: "+pub+"\n") {
		t.Errorf("Recipient = %s; key file:\n%s", k.Recipient(), data)
	}
	if k.Len() != 1 || len(k.Recipients()) != 1 || len(k.ExtraRecipients()) != 0 {
		t.Errorf("ring: %d identities, %d recipients, extra %v", k.Len(), len(k.Recipients()), k.ExtraRecipients())
	}
	if entries, _ := os.ReadDir(kd); len(entries) != 2 {
		t.Errorf("keys directory holds %d files, want 2: age-1.key and data-1.age (no temporary files)", len(entries))
	}
	if fi, err := os.Stat(filepath.Join(kd, "data-1.age")); err != nil || fi.Mode().Perm() != 0o600 && runtime.GOOS != "windows" {
		t.Errorf("data-1.age: %v, %v; want mode 0600", fi, err)
	}
	if k.Fields().Current() != 1 {
		t.Errorf("current data key %d, want 1", k.Fields().Current())
	}

	err = GenerateKeyRing(dir)
	if custody.ErrorCode(err) != custody.ECONFLICT {
		t.Errorf("GenerateKeyRing twice: %v, want ECONFLICT", err)
	}
	if again, err := os.ReadFile(name); err != nil || !bytes.Equal(again, data) {
		t.Error("GenerateKeyRing twice changed the key file")
	}
}

func TestLoadKeyRingErrors(t *testing.T) {
	if _, err := LoadKeyRing(t.TempDir()); custody.ErrorCode(err) != custody.ENOTFOUND {
		t.Errorf("LoadKeyRing(no keys): %v, want ENOTFOUND", err)
	}
	if _, err := Rotate(t.TempDir()); custody.ErrorCode(err) != custody.ENOTFOUND {
		t.Errorf("Rotate(no keys): %v, want ENOTFOUND", err)
	}

	t.Run("TooOpen", func(t *testing.T) {
		if runtime.GOOS == "windows" {
			t.Skip("no Unix modes")
		}
		dir, _ := newRing(t)
		name := filepath.Join(KeyDir(dir), "age-1.key")
		if err := os.Chmod(name, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := LoadKeyRing(dir)
		var ce *custody.Error
		if !errors.As(err, &ce) || ce.Code != custody.EINVALID || ce.Hint != "chmod 600 "+name {
			t.Errorf("LoadKeyRing(mode 0644): %v, want EINVALID with a chmod hint", err)
		}
	})

	t.Run("Malformed", func(t *testing.T) {
		dir, _ := newRing(t)
		name := filepath.Join(KeyDir(dir), "age-2.key")
		if err := os.WriteFile(name, []byte("AGE-SECRET-KEY-1NOTAKEY\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadKeyRing(dir); custody.ErrorCode(err) != custody.EINVALID {
			t.Errorf("LoadKeyRing(malformed key): %v, want EINVALID", err)
		}
		if err := os.Remove(name); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(KeyDir(dir), "recipients.txt"), []byte("age1nope\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadKeyRing(dir); custody.ErrorCode(err) != custody.EINVALID {
			t.Errorf("LoadKeyRing(malformed recipients.txt): %v, want EINVALID", err)
		}
	})

	t.Run("OtherFilesIgnored", func(t *testing.T) {
		dir, k := newRing(t)
		for _, name := range []string{"age-01.key", "age-x.key", "age-2.key.bak", "README"} {
			if err := os.WriteFile(filepath.Join(KeyDir(dir), name), []byte("junk"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		k2, err := LoadKeyRing(dir)
		if err != nil || k2.Len() != 1 || k2.Recipient() != k.Recipient() {
			t.Errorf("LoadKeyRing with unrelated files: %v", err)
		}
	})
}

func TestRotate(t *testing.T) {
	dir, k1 := newRing(t)
	if _, err := Rotate(dir); err != nil {
		t.Fatal(err)
	}
	k2, err := LoadKeyRing(dir)
	if err != nil {
		t.Fatal(err)
	}
	if k2.Len() != 2 || k2.Recipient() == k1.Recipient() {
		t.Fatalf("after Rotate: %d identities, recipient %s (was %s)", k2.Len(), k2.Recipient(), k1.Recipient())
	}
	if fi, err := os.Stat(filepath.Join(KeyDir(dir), "age-2.key")); err != nil || fi.Mode().Perm() != 0o600 && runtime.GOOS != "windows" {
		t.Errorf("age-2.key: %v, %v", fi, err)
	}
	// Newest first; the old identity still decrypts what was sealed before.
	if ids := k2.Identities(); ids[0].(*age.X25519Identity).Recipient().String() != k2.Recipient() {
		t.Error("Identities()[0] is not the current identity")
	}
	sealed, err := k1.Seal([]byte("name of a witness"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := k2.Open(sealed); err != nil || string(got) != "name of a witness" {
		t.Errorf("Open after rotation = %q, %v", got, err)
	}

	// Concurrent rotations each add a key; none is overwritten.
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if _, err := Rotate(dir); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	k6, err := LoadKeyRing(dir)
	if err != nil || k6.Len() != 6 {
		t.Fatalf("after 4 concurrent rotations: %v, %v identities; want 6", err, k6)
	}
	seen := map[string]bool{}
	for _, id := range k6.Identities() {
		seen[id.(*age.X25519Identity).Recipient().String()] = true
	}
	if len(seen) != 6 || !seen[k1.Recipient()] || !seen[k2.Recipient()] {
		t.Errorf("identities after rotations are not 6 distinct keys including the first two")
	}
	// The newest identity brought a data key: it seals.
	if got := k6.Fields().Current(); got != 6 {
		t.Errorf("current data key after rotations: %d, want 6", got)
	}
}

func TestAddRecipient(t *testing.T) {
	dir, k := newRing(t)
	backup, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	if err := AddRecipient(dir, "age1notakey"); custody.ErrorCode(err) != custody.EINVALID {
		t.Errorf("AddRecipient(malformed): %v, want EINVALID", err)
	}
	if err := AddRecipient(t.TempDir(), backup.Recipient().String()); custody.ErrorCode(err) != custody.ENOTFOUND {
		t.Errorf("AddRecipient(no ring): %v, want ENOTFOUND", err)
	}
	for range 2 { // the second time changes nothing
		if err := AddRecipient(dir, " "+backup.Recipient().String()+"\n"); err != nil {
			t.Fatal(err)
		}
	}
	k2, err := LoadKeyRing(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := k2.ExtraRecipients(); len(got) != 1 || got[0] != backup.Recipient().String() {
		t.Errorf("ExtraRecipients = %v", got)
	}
	if len(k2.Recipients()) != 2 || k2.Recipient() != k.Recipient() {
		t.Errorf("Recipients: %d, current %s", len(k2.Recipients()), k2.Recipient())
	}
	sealed, err := k2.Seal([]byte("grid reference"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := age.Decrypt(bytes.NewReader(sealed), backup)
	if err != nil {
		t.Fatalf("the backup identity cannot decrypt: %v", err)
	}
	if got, _ := readAllString(r); got != "grid reference" {
		t.Errorf("backup decrypted %q", got)
	}
}

func TestSealOpen(t *testing.T) {
	_, k := newRing(t)
	for _, size := range []int{0, 1, 100, 64 << 10, 64<<10 + 1, 200 << 10} {
		plain := bytes.Repeat([]byte{'s'}, size)
		sealed, err := k.Seal(plain)
		if err != nil {
			t.Fatal(err)
		}
		if want := len(plain) + SealOverhead + 16*max(0, (size-1)>>16); len(sealed) != want {
			t.Errorf("Seal(%d bytes) = %d bytes, want %d", size, len(sealed), want)
		}
		if size > 8 && bytes.Contains(sealed, plain[:8]) {
			t.Errorf("Seal(%d bytes) contains the plaintext", size)
		}
		got, err := k.Open(sealed)
		if err != nil || !bytes.Equal(got, plain) {
			t.Errorf("Open(Seal(%d bytes)) = %d bytes, %v", size, len(got), err)
		}
	}
	a, _ := k.Seal([]byte("same"))
	b, _ := k.Seal([]byte("same"))
	if bytes.Equal(a, b) {
		t.Error("two Seals of the same plaintext are equal")
	}

	t.Run("ExtraRecipientOverhead", func(t *testing.T) {
		dir, _ := newRing(t)
		backup, _ := age.GenerateX25519Identity()
		if err := AddRecipient(dir, backup.Recipient().String()); err != nil {
			t.Fatal(err)
		}
		k2, err := LoadKeyRing(dir)
		if err != nil {
			t.Fatal(err)
		}
		sealed, err := k2.Seal([]byte("x"))
		if err != nil {
			t.Fatal(err)
		}
		if want := 1 + SealOverhead + SealRecipientOverhead; len(sealed) != want {
			t.Errorf("Seal with 2 recipients: %d bytes, want %d", len(sealed), want)
		}
	})

	t.Run("Tampered", func(t *testing.T) {
		sealed, err := k.Seal([]byte("statement of witness 7"))
		if err != nil {
			t.Fatal(err)
		}
		for _, off := range []int{3, SealOverhead - 40, len(sealed) - 1} {
			bad := bytes.Clone(sealed)
			bad[off] ^= 1
			if got, err := k.Open(bad); custody.ErrorCode(err) != custody.ETAMPERED || got != nil {
				t.Errorf("Open with byte %d flipped: %q, %v; want ETAMPERED", off, got, err)
			}
		}
		if _, err := k.Open(sealed[:len(sealed)-1]); custody.ErrorCode(err) != custody.ETAMPERED {
			t.Errorf("Open(truncated): %v, want ETAMPERED", err)
		}
	})

	t.Run("WrongKey", func(t *testing.T) {
		_, other := newRing(t)
		sealed, err := other.Seal([]byte("x"))
		if err != nil {
			t.Fatal(err)
		}
		_, err = k.Open(sealed)
		if !errors.Is(err, ErrNoKey) || custody.ErrorCode(err) != custody.EINTERNAL {
			t.Errorf("Open with the wrong ring: %v, want ErrNoKey", err)
		}
		if msg := custody.ErrorMessage(err); !strings.Contains(msg, "none of the store's keys") || !strings.Contains(msg, "docs/keys.md") {
			t.Errorf("message %q does not say what happened and what to do", msg)
		}
	})
}

func readAllString(r interface{ Read([]byte) (int, error) }) (string, error) {
	var b bytes.Buffer
	_, err := b.ReadFrom(r)
	return b.String(), err
}
