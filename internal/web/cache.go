package web

import (
	"context"
	"sync"
	"time"
)

// figures caches what is computed from the whole store — the dashboard's
// statistics, the map's clusters — which at a million records takes a
// good part of a second. A value computed at a log size stays right until
// the log grows. After it has grown:
//
//   - for Config.StatsTTL (5 s) the value is served as it is;
//   - then, for up to Config.MaxStale (1 min), it is still served at once
//     while one background computation brings it up to date (stale while
//     revalidate), so no reader waits for a recount under a stream of
//     writes;
//   - beyond that, or after a change made through these pages
//     (invalidate), the next reader computes it, and concurrent readers of
//     the same key wait for that one computation.
type figures[T any] struct {
	mu      sync.Mutex
	entries map[string]*figure[T]
}

type figure[T any] struct {
	mu         sync.Mutex // held while computing in the foreground
	has        bool
	size       uint64
	at         time.Time
	val        T
	stale      bool
	refreshing bool
}

// maxFigures bounds the keys kept (map views); beyond it the cache starts
// afresh.
const maxFigures = 128

func (c *figures[T]) invalidate() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.entries {
		e.mu.Lock()
		e.stale = true
		e.mu.Unlock()
	}
}

func (c *figures[T]) get(ctx context.Context, s *Server, key string, compute func(context.Context) (T, error)) (T, error) {
	var zero T
	size, err := s.svc.DB().LogSize(ctx)
	if err != nil {
		return zero, err
	}
	c.mu.Lock()
	if c.entries == nil || len(c.entries) >= maxFigures {
		c.entries = map[string]*figure[T]{}
	}
	e := c.entries[key]
	if e == nil {
		e = &figure[T]{}
		c.entries[key] = e
	}
	c.mu.Unlock()

	e.mu.Lock()
	defer e.mu.Unlock()
	now := s.cfg.Now()
	age := now.Sub(e.at)
	if e.has && !e.stale {
		switch {
		case e.size == size, age < s.cfg.StatsTTL:
			return e.val, nil
		case age < s.cfg.MaxStale:
			if !e.refreshing {
				e.refreshing = true
				go refreshOne(s, e, size, compute)
			}
			return e.val, nil
		}
	}
	v, err := compute(ctx)
	if err != nil {
		return zero, err
	}
	e.has, e.size, e.at, e.val, e.stale = true, size, now, v, false
	return v, nil
}

// refreshOne recomputes a figure in the background.
func refreshOne[T any](s *Server, e *figure[T], size uint64, compute func(context.Context) (T, error)) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	v, err := compute(ctx)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.refreshing = false
	if err != nil {
		s.logger.Error("refresh figures", "err", err)
		return
	}
	if !e.stale {
		e.size, e.at, e.val = size, s.cfg.Now(), v
	}
}
