package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/custody-dev/custody/internal/api"
	"github.com/custody-dev/custody/internal/evidence"
	"github.com/custody-dev/custody/internal/httpx"
	"github.com/custody-dev/custody/internal/sqlstore"
	"github.com/custody-dev/custody/internal/web"
)

func (m *Main) cmdServe(ctx context.Context, args []string) error {
	fs, data, _ := m.flags("serve", "[--addr 127.0.0.1:8080] [--secure-cookies] [--trusted-proxy CIDR,...]")
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on")
	secure := fs.Bool("secure-cookies", false, "mark cookies Secure even on plain HTTP: behind a proxy that terminates TLS")
	proxies := fs.String("trusted-proxy", "", "reverse proxies (addresses or CIDR prefixes, comma-separated) whose X-Forwarded-For names the client")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	m.secureCookies = *secure
	var err error
	if m.trustedProxies, err = parseTrustedProxies(*proxies); err != nil {
		return err
	}
	st, err := m.open(ctx, *data)
	if err != nil {
		return err
	}
	defer st.Close()
	return m.serve(ctx, st, *addr)
}

// serve runs the HTTP server until ctx ends, publishing the log in the
// background so that entries appended by this or another process (custody
// add on the same store) appear in checkpoints within a second.
func (m *Main) serve(ctx context.Context, st *store, addr string) error {
	logger := m.logger()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	// The JSON API and the public log beside the web application, which
	// has every other path.
	// Sign-in attempts are limited per client address and locked names
	// refused, in the store, so that the limits hold across nodes.
	app, err := web.New(st.svc, web.Config{Logger: logger, UploadDir: filepath.Join(st.dir, "uploads"), Now: m.Now,
		Secure: m.secureCookies, SignInGuard: st.svc.SignInGuard})
	if err != nil {
		ln.Close()
		return err
	}
	apiHandler := api.New(st.svc, logger)
	mux := http.NewServeMux()
	mux.Handle("/api/", apiHandler)
	mux.Handle("/log/", apiHandler)
	mux.Handle("/healthz", apiHandler)
	mux.Handle("/", app)
	srv := &http.Server{
		Handler:           httpx.SecurityHeaders(fromProxies(mux, m.trustedProxies), httpx.Options{}), // every response: CSP, nosniff, frame and cache policy
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		// The dashboard's figures and the country's map, before anyone asks.
		if err := app.Warm(ctx); err != nil && ctx.Err() == nil {
			logger.Warn("warm the web pages", "err", err)
		}
		t := time.NewTicker(10 * time.Minute)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := app.Clean(ctx); err != nil && ctx.Err() == nil {
					logger.Error("clean up uploads", "err", err)
				}
				if err := st.svc.SweepSignIn(ctx); err != nil && ctx.Err() == nil {
					logger.Error("sweep sign-in state", "err", err)
				}
			}
		}
	}()
	go func() {
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if _, err := st.svc.Publish(ctx); err != nil && ctx.Err() == nil {
					logger.Error("publish log", "err", err)
				}
			}
		}
	}()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	fmt.Fprintf(m.Stderr, "custody: serving store %s on http://%s (web application at /, public log at /log/, API at /api/v1/)\n", st.cfg.StoreID, ln.Addr())
	if m.Ready != nil {
		m.Ready(ln.Addr().String())
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer scancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	_, err = st.svc.Publish(sctx)
	return err
}

// rebuildStore recreates the index. With SQLite, a new database file is
// built from the published log alone (checked against its signed root) and
// swapped in; the old file is kept beside it. With PostgreSQL, the index
// tables are replayed in place from the sequenced entries.
func rebuildStore(ctx context.Context, st *store, progress evidence.Progress, now func() time.Time) (uint64, error) {
	p, ok := strings.CutPrefix(st.cfg.DB, "sqlite:")
	if !ok {
		var n uint64
		err := st.db.Replay(ctx, func(done, total uint64) {
			n = done
			if progress != nil {
				progress("replay", int64(done), int64(total))
			}
		})
		return n, err
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(st.dir, p)
	}
	tmp := p + ".rebuild"
	for _, suffix := range []string{"", "-wal", "-shm"} {
		os.Remove(tmp + suffix)
	}
	// The same keys: the rebuilt database seals payloads as the store does.
	sealer := st.db.Sealer()
	fresh, err := sqlstore.Open(ctx, tmp, sqlstore.Options{Now: now, Sealer: sealer})
	if err != nil {
		return 0, err
	}
	n, err := st.svc.RebuildInto(ctx, fresh, progress)
	if err == nil {
		err = fresh.SetMeta(ctx, "store_id", st.cfg.StoreID)
	}
	if cerr := fresh.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, err
	}
	if err := st.db.Close(); err != nil {
		return 0, err
	}
	// Never overwrite an earlier backup (two rebuilds in one second).
	stamp := now().UTC().Format("20060102T150405")
	old := fmt.Sprintf("%s.old-%s", p, stamp)
	for i := 1; ; i++ {
		if _, err := os.Lstat(old); errors.Is(err, fs.ErrNotExist) {
			break
		}
		old = fmt.Sprintf("%s.old-%s-%d", p, stamp, i)
	}
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if err := os.Rename(p+suffix, old+suffix); err != nil && !os.IsNotExist(err) {
			return 0, fmt.Errorf("move old database aside: %w", err)
		}
	}
	if err := os.Rename(tmp, p); err != nil {
		return 0, fmt.Errorf("swap in rebuilt database: %w", err)
	}
	// Reopen so that the caller's Close works on a live handle.
	st.db, err = sqlstore.Open(ctx, p, sqlstore.Options{Now: now, Sealer: sealer})
	return n, err
}
