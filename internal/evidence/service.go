// Package evidence is Custody's application layer: intake, chain of custody,
// users, publishing the log and proving what it holds. It composes the
// adapters (a custody.BlobStore, the SQL store, the object stores of the
// published log) that internal/cli wires together.
//
// Invariants:
//   - A change is acknowledged (a method returns without error) only once its
//     log entry and index rows are durably committed.
//   - Blob content is stored and fsynced before the entry that names it is
//     appended; a crash in between leaves an unreferenced blob, never an
//     entry naming a missing blob.
//   - Entry payloads never leave the store except in court bundles; the
//     public log carries only envelopes.
package evidence

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/custody-dev/custody"
	"github.com/custody-dev/custody/internal/ledger"
	"github.com/custody-dev/custody/internal/locality"
	"github.com/custody-dev/custody/internal/sqlstore"
	"github.com/custody-dev/custody/verify"
	"github.com/google/uuid"
	"golang.org/x/mod/sumdb/note"
)

// Config holds what a Service is built from. Every field but Now, Rand and
// Logger is required.
type Config struct {
	StoreID     string
	Origin      string // the log's origin line (also the key name)
	SignerKey   string // note signer key (PRIVATE+KEY+...)
	VerifierKey string // note verifier key
	DB          *sqlstore.DB
	Blobs       custody.BlobStore
	Public      custody.ObjectStore // tiles, entry bundles, checkpoint: served without authentication
	Private     custody.ObjectStore // payload bundles, checkpoint history: never served
	Now         func() time.Time
	Rand        io.Reader
	Logger      *slog.Logger
	// Localities is the KATOTTH codifier that locality codes are checked
	// against. When nil, codes are checked for form only.
	Localities *locality.Gazetteer
}

// Service implements custody.ItemService and custody.UserService.
type Service struct {
	cfg      Config
	signer   note.Signer
	verifier note.Verifier
	prover   *ledger.Prover
	pubMu    sync.Mutex // one publisher per process; the DB lock orders processes

	// red caches the redactor of protected witnesses for as long as no
	// person record changes (sqlstore.DB.IdentityVersion).
	redMu      sync.Mutex
	red        *sqlstore.Redactor
	redVersion uint64
}

var (
	_ custody.ItemService = (*Service)(nil)
	_ custody.UserService = (*Service)(nil)
)

// New checks cfg and returns a Service.
func New(cfg Config) (*Service, error) {
	switch {
	case cfg.StoreID == "" || cfg.Origin == "":
		return nil, fmt.Errorf("evidence: store ID and origin are required")
	case cfg.DB == nil || cfg.Blobs == nil || cfg.Public == nil || cfg.Private == nil:
		return nil, fmt.Errorf("evidence: database, blob store and object stores are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Service{cfg: cfg, prover: ledger.NewProver(cfg.Public, 4096)}
	var err error
	if s.signer, err = note.NewSigner(cfg.SignerKey); err != nil {
		return nil, fmt.Errorf("evidence: signer key: %w", err)
	}
	if s.verifier, err = note.NewVerifier(cfg.VerifierKey); err != nil {
		return nil, fmt.Errorf("evidence: verifier key: %w", err)
	}
	if s.signer.Name() != cfg.Origin || s.verifier.Name() != cfg.Origin {
		return nil, fmt.Errorf("evidence: key name %q does not match origin %q", s.signer.Name(), cfg.Origin)
	}
	return s, nil
}

// StoreID returns the ID of the store.
func (s *Service) StoreID() string { return s.cfg.StoreID }

// VerifierKey returns the checkpoint verifier key in note format.
func (s *Service) VerifierKey() string { return s.cfg.VerifierKey }

// Origin returns the log's origin line.
func (s *Service) Origin() string { return s.cfg.Origin }

// Localities returns the KATOTTH codifier, or nil when the service has none.
func (s *Service) Localities() *locality.Gazetteer { return s.cfg.Localities }

// DB returns the SQL store.
func (s *Service) DB() *sqlstore.DB { return s.cfg.DB }

// Blobs returns the blob store.
func (s *Service) Blobs() custody.BlobStore { return s.cfg.Blobs }

// Public returns the object store of the published log.
func (s *Service) Public() custody.ObjectStore { return s.cfg.Public }

func (s *Service) newID() string {
	id, err := uuid.NewV7FromReader(s.cfg.Rand)
	if err != nil {
		panic(fmt.Sprintf("uuid from random source: %v", err)) // crypto/rand does not fail
	}
	return id.String()
}

func (s *Service) nonce() string {
	var b [16]byte
	if _, err := io.ReadFull(s.cfg.Rand, b[:]); err != nil {
		panic(fmt.Sprintf("random source: %v", err))
	}
	return base64.RawStdEncoding.EncodeToString(b[:])
}

// pending builds a Pending entry with a canonical payload.
func (s *Service) pending(typ string, actor *custody.User, subject, deviceTime string, payload any) (sqlstore.Pending, error) {
	raw, err := verify.Canonical(payload)
	if err != nil {
		return sqlstore.Pending{}, fmt.Errorf("encode %s payload: %w", typ, err)
	}
	return sqlstore.Pending{
		Entry:   custody.Entry{ID: s.newID(), Type: typ, Store: s.cfg.StoreID, Actor: actor.ID, DeviceTime: deviceTime, Subject: subject},
		Payload: raw,
	}, nil
}

// Init records the store.init entry. It is called once, by custody init.
func (s *Service) Init(ctx context.Context, name string) error {
	p, err := s.pending(custody.EntryStoreInit, custody.SystemActor, s.cfg.StoreID, "", custody.StoreInit{
		Nonce: s.nonce(), StoreID: s.cfg.StoreID, Origin: s.cfg.Origin, VerifyKey: s.cfg.VerifierKey, Name: name})
	if err != nil {
		return err
	}
	if _, err := s.cfg.DB.Append(ctx, p); err != nil {
		return err
	}
	_, err = s.Publish(ctx)
	return err
}
