package evidence_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custody-dev/custody"
	"github.com/custody-dev/custody/internal/blobstore"
	"github.com/custody-dev/custody/internal/evidence"
	"github.com/custody-dev/custody/internal/ledger"
	"github.com/custody-dev/custody/internal/sqlstore"
	"github.com/custody-dev/custody/internal/sqlstore/sqltest"
	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
)

// encEnv is an encrypted store under test, wired as internal/cli wires one
// made by `custody init --encrypt`: blobs in an Encrypted store over
// FSBackend, payloads sealed in the database and in payload bundles with
// the key ring's data key.
type encEnv struct {
	dir     string
	dsn     string
	skey    string
	ring    *blobstore.KeyRing
	backend *blobstore.FSBackend
	db      *sqlstore.DB
	svc     *evidence.Service
	admin   *custody.User
}

func newEncryptedService(t testing.TB, dialect string) *encEnv {
	t.Helper()
	ctx := context.Background()
	e := &encEnv{dir: t.TempDir(), dsn: sqltest.DSN(t, dialect)}
	if err := blobstore.GenerateKeyRing(e.dir); err != nil {
		t.Fatal(err)
	}
	var err error
	if e.ring, err = blobstore.LoadKeyRing(e.dir); err != nil {
		t.Fatal(err)
	}
	id := uuid.Must(uuid.NewV7()).String()
	origin := "custody.test/" + id
	skey, vkey, err := ledger.GenerateKey(rand.Reader, origin)
	if err != nil {
		t.Fatal(err)
	}
	e.skey = skey
	if e.db, err = sqlstore.Open(ctx, e.dsn, sqlstore.Options{Now: newClock().Now, Sealer: e.ring.Fields()}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.db.Close() })
	if e.backend, err = blobstore.NewFSBackend(filepath.Join(e.dir, "blobs")); err != nil {
		t.Fatal(err)
	}
	pub, err := blobstore.NewFSObjects(filepath.Join(e.dir, "log"))
	if err != nil {
		t.Fatal(err)
	}
	priv, err := blobstore.NewFSObjects(filepath.Join(e.dir, "private"))
	if err != nil {
		t.Fatal(err)
	}
	e.svc, err = evidence.New(evidence.Config{StoreID: id, Origin: origin, SignerKey: skey, VerifierKey: vkey,
		DB: e.db, Blobs: blobstore.NewEncrypted(e.backend, e.ring), Public: pub, Private: priv, Localities: gazetteer(t)})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.db.SetMeta(ctx, "store_id", id); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Init(ctx, "encrypted test store"); err != nil {
		t.Fatal(err)
	}
	if e.admin, _, err = e.svc.CreateUser(ctx, custody.SystemActor, "admin", custody.RoleAdmin, ""); err != nil {
		t.Fatal(err)
	}
	return e
}

// TestEncryptedStore: intake, dedup, reading back, proofs, verify, rebuild
// and export on an encrypted store; nothing on disk outside keys/ and the
// index holds the content or the private payloads; the log is the same as
// an unencrypted store's would be.
func TestEncryptedStore(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		e := newEncryptedService(t, dialect)
		content := "photo of grave 17, trench B, " + strings.Repeat("pixels ", 30000)
		req := custody.IntakeRequest{Name: "grave-17.jpg", Case: "UA-2026-001", Collector: "o.kovalenko",
			Description: "secret-description-marker", Content: strings.NewReader(content)}
		it, err := e.svc.Intake(ctx, e.admin, req)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256([]byte(content))
		if it.Blob != custody.RefFromDigest(sum[:]) || it.Size != int64(len(content)) {
			t.Fatalf("item blob %s size %d: the reference is not the SHA-256 of the original", it.Blob, it.Size)
		}
		// Dedup: the same bytes again are recognised, and stored once.
		req.Name, req.Content = "copy.jpg", strings.NewReader(content)
		dup, err := e.svc.Intake(ctx, e.admin, req)
		if err != nil || !dup.Duplicate || dup.Blob != it.Blob {
			t.Fatalf("second intake: %+v, %v; want a duplicate of %s", dup, err, it.Blob)
		}
		n := 0
		if err := e.svc.Blobs().Refs(ctx, func(custody.Ref) error { n++; return nil }); err != nil || n != 1 {
			t.Errorf("%d blobs stored, %v; want 1", n, err)
		}
		rc, err := e.svc.Blobs().Open(ctx, it.Blob)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || string(got) != content {
			t.Fatalf("reading back: %d bytes, %v", len(got), err)
		}
		if _, err := e.svc.Publish(ctx); err != nil {
			t.Fatal(err)
		}
		if p, err := e.svc.ProveItem(ctx, it.ID); err != nil || !p.Verified {
			t.Fatalf("proof: %+v, %v", p, err)
		}
		proved, err := e.svc.ProveEntries(ctx, []uint64{it.LogIndex})
		if err != nil || !bytes.Contains(proved.Entries[0].Payload, []byte("secret-description-marker")) {
			t.Fatalf("ProveEntries: the court bundle's payload is not the plaintext: %v", err)
		}
		rep, err := e.svc.Verify(ctx, 2, nil)
		if err != nil || !rep.OK() || rep.Blobs != 1 {
			t.Fatalf("verify: %+v, %v", rep, err)
		}

		// No plaintext outside the index: blobs, payload bundles, the log.
		files := map[string]bool{}
		filepath.WalkDir(e.dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || strings.HasSuffix(path, ".db") || strings.Contains(path, ".db-") {
				return err
			}
			rel, _ := filepath.Rel(e.dir, path)
			files[strings.Split(rel, string(filepath.Separator))[0]] = true
			data, _ := os.ReadFile(path)
			for _, secret := range []string{"pixels pixels", "secret-description-marker", "grave-17.jpg"} {
				if bytes.Contains(data, []byte(secret)) {
					t.Errorf("%s holds %q in plaintext", path, secret)
				}
			}
			return nil
		})
		if !files["blobs"] || !files["private"] || !files["log"] || !files["keys"] {
			t.Errorf("the store's directories hold files in %v only", files)
		}

		// Rebuild from the published log into a fresh database with the
		// same keys: same answers.
		fresh, err := sqlstore.Open(ctx, sqltest.DSN(t, dialect), sqlstore.Options{Sealer: e.ring.Fields()})
		if err != nil {
			t.Fatal(err)
		}
		defer fresh.Close()
		if n, err := e.svc.RebuildInto(ctx, fresh, nil); err != nil || n != e.logSize(t) {
			t.Fatalf("RebuildInto = %d, %v", n, err)
		}
		want, _ := e.db.DumpIndex(ctx)
		gotIdx, _ := fresh.DumpIndex(ctx)
		if diff := cmp.Diff(want, gotIdx); diff != "" {
			t.Errorf("rebuilt index differs:\n%s", diff)
		}
		recsA, _ := e.db.Records(ctx, 0, e.logSize(t))
		recsB, _ := fresh.Records(ctx, 0, e.logSize(t))
		if diff := cmp.Diff(recsA, recsB); diff != "" {
			t.Errorf("rebuilt log differs:\n%s", diff)
		}

		// Tampering with the stored blob is found by verify.
		path := e.backend.Path(it.Blob)
		data, _ := os.ReadFile(path)
		data[len(data)-1] ^= 1
		os.WriteFile(path, data, 0o600)
		rep, err = e.svc.Verify(ctx, 2, nil)
		if err != nil || rep.OK() || rep.Problems[0].Kind != "blob" || rep.Problems[0].Item == "" {
			t.Errorf("verify after tampering: %+v, %v", rep, err)
		}
	})
}

// TestEncryptedStoreRebuildWithoutKeys: the payload bundles cannot be read
// without the keys, and say so.
func TestEncryptedStoreRebuildWithoutKeys(t *testing.T) {
	ctx := context.Background()
	e := newEncryptedService(t, "sqlite")
	if _, err := e.svc.Publish(ctx); err != nil {
		t.Fatal(err)
	}
	pub, _ := blobstore.NewFSObjects(filepath.Join(e.dir, "log"))
	priv, _ := blobstore.NewFSObjects(filepath.Join(e.dir, "private"))
	svc, err := evidence.New(evidence.Config{StoreID: e.svc.StoreID(), Origin: e.svc.Origin(), SignerKey: e.skey,
		VerifierKey: e.svc.VerifierKey(), DB: freshDB(t, "sqlite"), Blobs: e.svc.Blobs(), Public: pub, Private: priv})
	if err != nil {
		t.Fatal(err)
	}
	into := freshDB(t, "sqlite")
	if _, err := svc.RebuildInto(ctx, into, nil); err == nil || !strings.Contains(err.Error(), "sealed") {
		t.Errorf("rebuild without keys: %v, want an error saying the payloads are sealed", err)
	}
}

func (e *encEnv) logSize(t testing.TB) uint64 {
	n, err := e.db.LogSize(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}
