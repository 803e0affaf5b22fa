package cli

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/custody-dev/custody"
	"github.com/custody-dev/custody/internal/blobstore"
	"github.com/custody-dev/custody/internal/evidence"
	"github.com/custody-dev/custody/internal/ledger"
	"github.com/custody-dev/custody/internal/locality"
	"github.com/custody-dev/custody/internal/sqlstore"
	"github.com/google/uuid"
)

// StoreFormat names the store layout in config.json. Version 2 marks an
// encrypted store (so that a custody too old to decrypt refuses it instead
// of misreading it); an unencrypted store is still written as version 1.
const (
	StoreFormat  = "custody-store"
	StoreVersion = 2
	configName   = "config.json"
	keyName      = "log.key"
	// EncryptionAge is Config.Encryption of a store whose blobs and private
	// payloads are encrypted with the key ring in keys/ (docs/keys.md).
	EncryptionAge = "age"
)

// Config is a store's config.json.
type Config struct {
	Format      string `json:"format"`
	Version     int    `json:"version"`
	StoreID     string `json:"store_id"`
	Name        string `json:"name,omitempty"`
	Origin      string `json:"origin"`
	VerifierKey string `json:"verifier_key"`
	// DB is "sqlite:custody.db" (relative to the store) or a postgres:// URL.
	DB string `json:"db"`
	// Blobs is "file" (the store's blobs/ directory) or an s3:// URL.
	Blobs     string `json:"blobs"`
	CreatedAt string `json:"created_at"`
	// Encryption is EncryptionAge when blob content and the log's private
	// payloads are encrypted at rest with the keys in keys/, "" when not.
	Encryption string `json:"encryption,omitempty"`
}

// Encrypted reports whether the store encrypts its content at rest.
func (c Config) Encrypted() bool { return c.Encryption != "" }

// store is an opened store directory.
type store struct {
	dir  string
	cfg  Config
	db   *sqlstore.DB
	svc  *evidence.Service
	s3   *blobstore.S3
	ring *blobstore.KeyRing // nil unless the store is encrypted
}

func (st *store) Close() error {
	err := st.db.Close()
	if st.s3 != nil {
		st.s3.Close()
	}
	return err
}

// initOptions are the choices custody init offers.
type initOptions struct {
	db, blobs, name string
	// encrypt makes an encrypted store, with a new key ring in keys/ whose
	// new data is also encrypted to backup (age1... recipients).
	encrypt bool
	backup  []string
}

// initStore creates a store in dir.
func initStore(ctx context.Context, dir string, opt initOptions, now func() time.Time, logger *slog.Logger) (*store, error) {
	dbURL, blobsURL, name := opt.db, opt.blobs, opt.name
	for _, r := range opt.backup {
		if err := blobstore.CheckRecipient(r); err != nil {
			return nil, err
		}
	}
	if _, err := os.Stat(filepath.Join(dir, configName)); err == nil {
		return nil, custody.Errorf(custody.ECONFLICT, "%s already holds a Custody store", dir)
	}
	if ents, err := os.ReadDir(dir); err == nil && len(ents) > 0 {
		return nil, &custody.Error{Code: custody.ECONFLICT, Message: fmt.Sprintf("%s exists and is not empty", dir), Hint: "choose an empty or new directory with --data"}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	id := uuid.Must(uuid.NewV7()).String()
	origin := "custody.local/" + id
	skey, vkey, err := ledger.GenerateKey(rand.Reader, origin)
	if err != nil {
		return nil, err
	}
	if dbURL == "" {
		dbURL = "sqlite:custody.db"
	}
	if blobsURL == "" {
		blobsURL = "file"
	}
	cfg := Config{Format: StoreFormat, Version: 1, StoreID: id, Name: name, Origin: origin, VerifierKey: vkey,
		DB: dbURL, Blobs: blobsURL, CreatedAt: custody.FormatTime(now())}
	// The keys first, 0600, never logged.
	if err := writeFileSync(filepath.Join(dir, keyName), []byte(skey+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("write signing key: %w", err)
	}
	if opt.encrypt {
		if err := blobstore.GenerateKeyRing(dir, opt.backup...); err != nil {
			return nil, err
		}
		cfg.Version, cfg.Encryption = 2, EncryptionAge
	}
	raw, _ := json.MarshalIndent(cfg, "", "  ")
	if err := writeFileSync(filepath.Join(dir, configName), append(raw, '\n'), 0o600); err != nil {
		return nil, fmt.Errorf("write config: %w", err)
	}
	st, err := openStore(ctx, dir, now, logger, nil)
	if err != nil {
		return nil, err
	}
	if n, err := st.db.LogSize(ctx); err != nil {
		st.Close()
		return nil, err
	} else if n != 0 {
		st.Close()
		return nil, custody.Errorf(custody.ECONFLICT, "the database %s already holds a log of %d entries", redactURL(dbURL), n)
	}
	if p, ok := strings.CutPrefix(dbURL, "sqlite:"); ok {
		// The database holds personal data: owner only, like the key.
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		if err := os.Chmod(p, 0o600); err != nil {
			st.Close()
			return nil, fmt.Errorf("protect database: %w", err)
		}
	}
	if err := st.db.SetMeta(ctx, "store_id", id); err != nil {
		st.Close()
		return nil, err
	}
	if err := st.svc.Init(ctx, name); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

func writeFileSync(path string, data []byte, mode fs.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// readConfig reads and checks a store's config.json.
func readConfig(dir string) (Config, error) {
	var cfg Config
	if fi, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return cfg, &custody.Error{Code: custody.ENOTFOUND, Message: fmt.Sprintf("no store at %s", dir), Hint: "run custody init, or give --data / CUSTODY_DATA"}
	} else if err != nil {
		return cfg, fmt.Errorf("open store %s: %w", dir, err)
	} else if !fi.IsDir() {
		return cfg, custody.Errorf(custody.EINVALID, "%s is not a directory", dir)
	}
	raw, err := os.ReadFile(filepath.Join(dir, configName))
	if errors.Is(err, fs.ErrNotExist) {
		return cfg, &custody.Error{Code: custody.EINVALID, Message: fmt.Sprintf("%s is not a Custody store (no %s)", dir, configName), Hint: "run custody init to create one"}
	} else if err != nil {
		return cfg, fmt.Errorf("read %s: %w", configName, err)
	}
	if len(raw) > 1<<20 {
		return cfg, custody.Errorf(custody.EINVALID, "%s/%s is corrupt: too large", dir, configName)
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	if err := dec.Decode(&cfg); err != nil {
		return cfg, custody.Errorf(custody.EINVALID, "%s/%s is corrupt: %v", dir, configName, err)
	}
	switch {
	case cfg.Format != StoreFormat:
		return cfg, custody.Errorf(custody.EINVALID, "%s is not a Custody store (format %q)", dir, cfg.Format)
	case cfg.Version > StoreVersion:
		return cfg, &custody.Error{Code: custody.EUNSUPPORTED, Message: fmt.Sprintf("the store at %s has version %d; this custody knows up to %d", dir, cfg.Version, StoreVersion), Hint: "upgrade custody"}
	case cfg.Version < 1 || cfg.StoreID == "" || cfg.Origin == "" || cfg.VerifierKey == "" || cfg.DB == "" || cfg.Blobs == "":
		return cfg, custody.Errorf(custody.EINVALID, "%s/%s is corrupt: a required field is missing", dir, configName)
	}
	return cfg, nil
}

// loadLocalities parses the embedded KATOTTH gazetteer once per process:
// it is read-only, safe to share, and takes a few hundred milliseconds, so
// only the commands that check or look up locality codes ask for it.
var loadLocalities = sync.OnceValues(locality.Load)

// openStore opens an existing store. Record writes check locality codes
// against g; with g nil, codes are checked for form only.
func openStore(ctx context.Context, dir string, now func() time.Time, logger *slog.Logger, g *locality.Gazetteer) (*store, error) {
	cfg, err := readConfig(dir)
	if err != nil {
		return nil, err
	}
	skey, err := os.ReadFile(filepath.Join(dir, keyName))
	if err != nil {
		return nil, custody.Errorf(custody.EINVALID, "the store's signing key %s cannot be read: %v", filepath.Join(dir, keyName), errors.Unwrap(err))
	}
	ring, err := loadKeys(dir, cfg)
	if err != nil {
		return nil, err
	}
	dsn := cfg.DB
	if p, ok := strings.CutPrefix(dsn, "sqlite:"); ok && !filepath.IsAbs(p) {
		dsn = "sqlite:" + filepath.Join(dir, p)
	}
	opts := sqlstore.Options{Now: now}
	if ring != nil {
		opts.Sealer = ring.Fields()
	}
	db, err := sqlstore.Open(ctx, dsn, opts)
	if err != nil {
		return nil, err
	}
	st := &store{dir: dir, cfg: cfg, db: db, ring: ring}
	if id, err := db.Meta(ctx, "store_id"); err == nil && id != cfg.StoreID {
		db.Close()
		return nil, custody.Errorf(custody.EINVALID, "the database belongs to store %s, not %s", id, cfg.StoreID)
	}
	var blobs custody.BlobStore
	var pub, priv custody.ObjectStore
	if cfg.Blobs == "file" {
		if ring != nil {
			b, err := blobstore.NewFSBackend(filepath.Join(dir, "blobs"))
			if err != nil {
				db.Close()
				return nil, err
			}
			blobs = blobstore.NewEncrypted(b, ring)
		} else {
			fsb, err := blobstore.NewFS(filepath.Join(dir, "blobs"))
			if err != nil {
				db.Close()
				return nil, err
			}
			blobs = fsb
		}
		if pub, err = blobstore.NewFSObjects(filepath.Join(dir, "log")); err != nil {
			db.Close()
			return nil, err
		}
		if priv, err = blobstore.NewFSObjects(filepath.Join(dir, "private")); err != nil {
			db.Close()
			return nil, err
		}
	} else {
		s3, err := blobstore.OpenS3(ctx, cfg.Blobs)
		if err != nil {
			db.Close()
			return nil, err
		}
		st.s3 = s3
		blobs, pub, priv = s3, s3.Objects("log/"), s3.Objects("private/")
		if ring != nil {
			blobs = blobstore.NewEncrypted(s3.EncryptedBackend(), ring)
		}
	}
	st.svc, err = evidence.New(evidence.Config{StoreID: cfg.StoreID, Origin: cfg.Origin, SignerKey: strings.TrimSpace(string(skey)),
		VerifierKey: cfg.VerifierKey, DB: db, Blobs: blobs, Public: pub, Private: priv, Now: now, Logger: logger, Localities: g})
	if err != nil {
		st.Close()
		return nil, custody.Errorf(custody.EINVALID, "the store at %s is corrupt: %v", dir, err)
	}
	return st, nil
}

// loadKeys loads the key ring of an encrypted store (nil for a store that
// is not encrypted), with errors that say which file is at fault and what to
// do about it.
func loadKeys(dir string, cfg Config) (*blobstore.KeyRing, error) {
	if !cfg.Encrypted() {
		return nil, nil
	}
	if cfg.Encryption != EncryptionAge {
		return nil, &custody.Error{Code: custody.EUNSUPPORTED,
			Message: fmt.Sprintf("the store at %s is encrypted with %q, which this custody does not know", dir, cfg.Encryption),
			Hint:    "upgrade custody"}
	}
	ring, err := blobstore.LoadKeyRing(dir)
	if err == nil {
		return ring, nil
	}
	kd := blobstore.KeyDir(dir)
	var ce *custody.Error
	switch {
	case custody.ErrorCode(err) == custody.ENOTFOUND:
		return nil, &custody.Error{Code: custody.EINVALID,
			Message: fmt.Sprintf("the store at %s is encrypted, and its keys are missing: no key files in %s", dir, kd),
			Hint: "restore " + kd + " from the keys' backup (custody keys backup, or your offline copy; see docs/keys.md). " +
				"Without the keys nobody can read the store's evidence files or the log's private payloads"}
	case errors.As(err, &ce):
		return nil, &custody.Error{Code: custody.EINVALID,
			Message: fmt.Sprintf("the store at %s is encrypted, and its keys in %s cannot be loaded: %s", dir, kd, ce.Message),
			Hint:    firstNonEmpty(ce.Hint, "restore "+kd+" from the keys' backup; see docs/keys.md")}
	}
	return nil, &custody.Error{Code: custody.EINVALID,
		Message: fmt.Sprintf("the store at %s is encrypted, and its keys in %s cannot be read: %v", dir, kd, err),
		Hint:    "check that this user may read " + kd + " (mode 0700, files 0600), or restore it from the keys' backup; see docs/keys.md"}
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// redactURL hides a password in a database URL.
func redactURL(s string) string {
	if i := strings.Index(s, "://"); i >= 0 {
		if j := strings.Index(s[i+3:], "@"); j >= 0 {
			return s[:i+3] + "***" + s[i+3+j:]
		}
	}
	return s
}

var _ io.Closer = (*store)(nil)
