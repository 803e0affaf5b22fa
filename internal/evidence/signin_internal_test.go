package evidence

import (
	"context"
	"crypto/rand"
	"path/filepath"
	"testing"
	"time"

	"github.com/custody-dev/custody/internal/blobstore"
	"github.com/custody-dev/custody/internal/ledger"
	"github.com/custody-dev/custody/internal/sqlstore"
)

// A failure checked before a lock began but recorded after it (attempts
// racing on several nodes) neither counts nor locks again: parallel
// attempts cannot double the lock at once.
func TestFailureDuringLock(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := sqlstore.Open(ctx, "sqlite:"+filepath.Join(dir, "db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	blobs, _ := blobstore.NewFS(filepath.Join(dir, "blobs"))
	pub, _ := blobstore.NewFSObjects(filepath.Join(dir, "log"))
	priv, _ := blobstore.NewFSObjects(filepath.Join(dir, "private"))
	skey, vkey, err := ledger.GenerateKey(rand.Reader, "custody.test/x")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	s, err := New(Config{StoreID: "x", Origin: "custody.test/x", SignerKey: skey, VerifierKey: vkey, DB: db, Blobs: blobs,
		Public: pub, Private: priv, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 * MaxSignInFailures {
		s.recordFailure(ctx, "o.kovalenko", "203.0.113.5:1", "password")
	}
	a, err := db.SignInAccount(ctx, "o.kovalenko")
	if err != nil {
		t.Fatal(err)
	}
	until, ok := lockedUntil(a, now)
	if !ok || until.Sub(now) != SignInLockout || a.Lockouts != 1 || a.Failures != 0 {
		t.Errorf("after 15 failures at once: %+v; want one lock of 15 minutes", a)
	}
}
