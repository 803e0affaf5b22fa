package export_test

import (
	"bytes"
	"compress/zlib"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/custody-dev/custody"
	"github.com/custody-dev/custody/internal/blobstore"
	"github.com/custody-dev/custody/internal/evidence"
	"github.com/custody-dev/custody/internal/ledger"
	"github.com/custody-dev/custody/internal/sqlstore"
	"github.com/custody-dev/custody/internal/sqlstore/sqltest"
	"github.com/google/uuid"
)

// clock advances by a millisecond on every reading.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Millisecond)
	return c.t
}

// store is a fresh SQLite store under test.
type store struct {
	t          testing.TB
	dir        string
	storeID    string
	origin     string
	skey, vkey string
	clock      *clock
	blobs      *blobstore.FS
	svc        *evidence.Service
	admin      *custody.User
}

func newStore(t testing.TB) *store {
	t.Helper()
	ctx := context.Background()
	s := &store{t: t, dir: t.TempDir(), clock: &clock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}}
	s.storeID = uuid.Must(uuid.NewV7()).String()
	s.origin = "custody.test/" + s.storeID
	var err error
	if s.skey, s.vkey, err = ledger.GenerateKey(rand.Reader, s.origin); err != nil {
		t.Fatal(err)
	}
	db, err := sqlstore.Open(ctx, sqltest.DSN(t, "sqlite"), sqlstore.Options{Now: s.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if s.blobs, err = blobstore.NewFS(filepath.Join(s.dir, "blobs")); err != nil {
		t.Fatal(err)
	}
	pub, err := blobstore.NewFSObjects(filepath.Join(s.dir, "log"))
	if err != nil {
		t.Fatal(err)
	}
	priv, err := blobstore.NewFSObjects(filepath.Join(s.dir, "private"))
	if err != nil {
		t.Fatal(err)
	}
	s.svc, err = evidence.New(evidence.Config{StoreID: s.storeID, Origin: s.origin, SignerKey: s.skey, VerifierKey: s.vkey,
		DB: db, Blobs: s.blobs, Public: pub, Private: priv, Now: s.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.SetMeta(ctx, "store_id", s.storeID); err != nil {
		t.Fatal(err)
	}
	if err := s.svc.Init(ctx, "Mobile group 7"); err != nil {
		t.Fatal(err)
	}
	if s.admin, _, err = s.svc.CreateUser(ctx, custody.SystemActor, "admin", custody.RoleAdmin, ""); err != nil {
		t.Fatal(err)
	}
	return s
}

func (s *store) user(name string, role custody.Role) *custody.User {
	s.t.Helper()
	u, _, err := s.svc.CreateUser(context.Background(), s.admin, name, role, "")
	if err != nil {
		s.t.Fatal(err)
	}
	return u
}

func (s *store) intake(actor *custody.User, req custody.IntakeRequest) *custody.Item {
	s.t.Helper()
	it, err := s.svc.Intake(context.Background(), actor, req)
	if err != nil {
		s.t.Fatalf("intake %s: %v", req.Name, err)
	}
	return it
}

func (s *store) file(actor *custody.User, caseID, name, content string) *custody.Item {
	s.t.Helper()
	return s.intake(actor, custody.IntakeRequest{Name: name, Case: caseID, Collector: "o.kovalenko",
		CollectedAt: "2022-09-16T10:04:00+03:00", Content: strings.NewReader(content)})
}

func (s *store) handover(actor *custody.User, item, to, reason string) {
	s.t.Helper()
	if _, err := s.svc.Handover(context.Background(), actor, custody.HandoverRequest{Item: item, To: to, Reason: reason}); err != nil {
		s.t.Fatalf("handover %s to %s: %v", item, to, err)
	}
}

func (s *store) record(actor *custody.User, kind string, data any) *custody.Record {
	s.t.Helper()
	raw, err := json.Marshal(data)
	if err != nil {
		s.t.Fatal(err)
	}
	recs, err := s.svc.CreateRecords(context.Background(), actor, []custody.RecordInput{{Kind: kind, Data: raw}})
	if err != nil {
		s.t.Fatalf("create %s: %v", kind, err)
	}
	return recs[0]
}

func inflate(t *testing.T, data []byte) []byte {
	t.Helper()
	zr, err := zlib.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("inflate: %v", err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("inflate: %v", err)
	}
	return out
}
