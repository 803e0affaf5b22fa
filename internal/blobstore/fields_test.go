package blobstore

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"filippo.io/age"
	"github.com/custody-dev/custody"
)

func TestFieldSealer(t *testing.T) {
	_, ring := newRing(t)
	f := ring.Fields()
	payload := []byte(`{"item":{"name":"witness statement, Hanna K."}}`)
	sealed, err := f.Seal([]byte("prefix:"), payload)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(sealed, []byte("prefix:")) || len(sealed) != len("prefix:")+len(payload)+FieldOverhead {
		t.Fatalf("Seal appended %d bytes, want %d", len(sealed)-len("prefix:"), len(payload)+FieldOverhead)
	}
	sealed = sealed[len("prefix:"):]
	if !IsSealed(sealed) || IsSealed(payload) || IsSealed(nil) {
		t.Error("IsSealed misjudges")
	}
	if bytes.Contains(sealed, []byte("Hanna")) {
		t.Error("sealed field holds plaintext")
	}
	got, err := f.Open(nil, sealed)
	if err != nil || !bytes.Equal(got, payload) {
		t.Fatalf("Open = %q, %v", got, err)
	}
	again, _ := f.Seal(nil, payload)
	if bytes.Equal(again, sealed) {
		t.Error("two seals of the same field are equal")
	}
	empty, err := f.Seal(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := f.Open(nil, empty); err != nil || len(got) != 0 {
		t.Errorf("empty field: %q, %v", got, err)
	}

	for name, damage := range map[string]func([]byte) []byte{
		"Byte":      func(b []byte) []byte { b[len(b)/2] ^= 1; return b },
		"Tag":       func(b []byte) []byte { b[len(b)-1] ^= 1; return b },
		"Nonce":     func(b []byte) []byte { b[fieldPrefix] ^= 1; return b },
		"Truncated": func(b []byte) []byte { return b[:len(b)-1] },
		"Short":     func(b []byte) []byte { return b[:FieldOverhead-1] },
	} {
		t.Run(name, func(t *testing.T) {
			_, err := f.Open(nil, damage(bytes.Clone(sealed)))
			if custody.ErrorCode(err) != custody.ETAMPERED {
				t.Errorf("Open of a damaged field: %v, want ETAMPERED", err)
			}
		})
	}
	t.Run("UnknownKey", func(t *testing.T) {
		b := bytes.Clone(sealed)
		b[5] = 9 // data key 9
		_, err := f.Open(nil, b)
		if !errors.Is(err, ErrNoKey) || !bytes.Contains([]byte(err.Error()), []byte("data-9.age")) {
			t.Errorf("Open with a missing data key: %v, want ErrNoKey naming data-9.age", err)
		}
	})
	t.Run("OtherStore", func(t *testing.T) {
		_, other := newRing(t)
		if _, err := other.Fields().Open(nil, sealed); custody.ErrorCode(err) != custody.ETAMPERED {
			t.Errorf("another store's data key 1 opening the field: %v, want ETAMPERED", err)
		}
	})
}

// TestFieldRotation: after a rotation new fields use the new data key and
// old ones still open; once the data keys are rewrapped, the old identity
// can go and everything still opens.
func TestFieldRotation(t *testing.T) {
	dir, ring1 := newRing(t)
	old, err := ring1.Fields().Seal(nil, []byte("sealed before"))
	if err != nil {
		t.Fatal(err)
	}
	n, err := Rotate(dir)
	if err != nil || n != 2 {
		t.Fatalf("Rotate = %d, %v", n, err)
	}
	ring2, err := LoadKeyRing(dir)
	if err != nil {
		t.Fatal(err)
	}
	if ring2.Fields().Current() != 2 {
		t.Fatalf("current data key %d, want 2", ring2.Fields().Current())
	}
	fresh, _ := ring2.Fields().Seal(nil, []byte("sealed after"))
	// A ring loaded before the rotation (another node's) finds the new data
	// key in the key directory.
	if got, err := ring1.Fields().Open(nil, fresh); err != nil || string(got) != "sealed after" {
		t.Errorf("the old ring opening a field sealed after rotation: %q, %v", got, err)
	}
	if got, err := ring2.Fields().Open(nil, old); err != nil || string(got) != "sealed before" {
		t.Errorf("after rotation: %q, %v", got, err)
	}
	if n, err := RewrapDataKeys(dir, false); err != nil || n != 1 {
		t.Fatalf("RewrapDataKeys = %d, %v; want 1 (data-1)", n, err)
	}
	if n, err := RewrapDataKeys(dir, false); err != nil || n != 0 {
		t.Errorf("RewrapDataKeys again = %d, %v; want 0", n, err)
	}
	if err := os.Remove(filepath.Join(KeyDir(dir), "age-1.key")); err != nil {
		t.Fatal(err)
	}
	ring3, err := LoadKeyRing(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range [][]byte{old, fresh} {
		if _, err := ring3.Fields().Open(nil, s); err != nil {
			t.Errorf("with the old identity gone: %v", err)
		}
	}
	info := ring3.DataKeyInfo()
	if len(info) != 2 || info[0].Err != nil || !info[1].Current {
		t.Errorf("DataKeyInfo = %+v", info)
	}

	t.Run("Lost", func(t *testing.T) {
		dir, ring := newRing(t)
		sealed, _ := ring.Fields().Seal(nil, []byte("x"))
		Rotate(dir)
		os.Remove(filepath.Join(KeyDir(dir), "age-1.key")) // without rewrapping first
		ring, err := LoadKeyRing(dir)
		if err != nil {
			t.Fatalf("a data key no identity opens must not stop the ring loading: %v", err)
		}
		if _, err := ring.Fields().Open(nil, sealed); !errors.Is(err, ErrNoKey) {
			t.Errorf("Open = %v, want ErrNoKey", err)
		}
		if info := ring.DataKeyInfo(); len(info) != 2 || info[0].Err == nil {
			t.Errorf("DataKeyInfo = %+v: want data key 1 reported", info)
		}
	})
}

// TestFieldBackupRecipient: a backup identity kept offline opens the data
// keys once they are rewrapped to it, with plain age.
func TestFieldBackupRecipient(t *testing.T) {
	dir, _ := newRing(t)
	backup, _ := age.GenerateX25519Identity()
	if err := AddRecipient(dir, backup.Recipient().String()); err != nil {
		t.Fatal(err)
	}
	if n, err := RewrapDataKeys(dir, true); err != nil || n != 1 {
		t.Fatalf("RewrapDataKeys(all) = %d, %v", n, err)
	}
	data, _ := os.ReadFile(filepath.Join(KeyDir(dir), "data-1.age"))
	r, err := age.Decrypt(bytes.NewReader(data), backup)
	if err != nil {
		t.Fatal(err)
	}
	if key, _ := readAllString(r); len(key) != dataKeySize {
		t.Errorf("backup identity opened a data key of %d bytes", len(key))
	}
}

func TestBackupKeys(t *testing.T) {
	dir, ring := newRing(t)
	Rotate(dir)
	backup, _ := age.GenerateX25519Identity()
	AddRecipient(dir, backup.Recipient().String())
	dst := filepath.Join(t.TempDir(), "usb", "custody-keys")
	if err := BackupKeys(dir, dst); err != nil {
		t.Fatal(err)
	}
	names, _ := os.ReadDir(dst)
	if len(names) != 5 { // age-1, age-2, data-1, data-2, recipients.txt
		t.Errorf("backup holds %d files, want 5", len(names))
	}
	if fi, _ := os.Stat(dst); fi.Mode().Perm() != 0o700 && runtime.GOOS != "windows" {
		t.Errorf("backup directory mode %v", fi.Mode())
	}
	copyRing, err := loadKeyDir(dst)
	if err != nil || copyRing.Len() != 2 {
		t.Fatalf("the backup does not load: %v", err)
	}
	sealed, _ := ring.Fields().Seal(nil, []byte("x"))
	if _, err := copyRing.Fields().Open(nil, sealed); err != nil {
		t.Errorf("the backup does not open fields: %v", err)
	}
	if err := BackupKeys(dir, dst); custody.ErrorCode(err) != custody.ECONFLICT {
		t.Errorf("backup into a non-empty directory: %v, want ECONFLICT", err)
	}
}
