package httpx

import (
	"container/list"
	"sync"
	"time"

	"github.com/custody-dev/custody"
)

// Memory is what a Content remembers between requests, in this process
// only: which blobs were lately read whole and matched their hash, and
// which users' reads of which items were lately logged. Both are bounded
// (least recently used entries go first) and expire. It is safe for
// concurrent use.
type Memory struct {
	now         func() time.Time
	verifiedFor time.Duration
	viewFor     time.Duration

	mu       sync.Mutex
	verified *lru[custody.Ref, verifiedEntry]
	views    *lru[viewKey, time.Time]
}

type verifiedEntry struct {
	stamp blobStamp
	at    time.Time
}

type viewKey struct{ user, item string }

// Bounds of a Memory.
const (
	verifiedTTL   = 10 * time.Minute
	viewingTTL    = 30 * time.Minute
	verifiedBlobs = 256
	viewings      = 4096
)

// NewMemory returns an empty Memory reading the clock now (time.Now when
// nil).
func NewMemory(now func() time.Time) *Memory {
	if now == nil {
		now = time.Now
	}
	return &Memory{now: now, verifiedFor: verifiedTTL, viewFor: viewingTTL,
		verified: newLRU[custody.Ref, verifiedEntry](verifiedBlobs), views: newLRU[viewKey, time.Time](viewings)}
}

// verifiedAs reports whether ref was read whole and matched its hash
// lately, and looks the same now.
func (m *Memory) verifiedAs(ref custody.Ref, st blobStamp) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.verified.get(ref)
	return ok && e.stamp.size == st.size && e.stamp.mod.Equal(st.mod) && m.now().Sub(e.at) < m.verifiedFor
}

func (m *Memory) verifiedNow(ref custody.Ref, st blobStamp) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.verified.put(ref, verifiedEntry{stamp: st, at: m.now()})
}

func (m *Memory) forget(ref custody.Ref) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.verified.remove(ref)
}

func userID(u *custody.User) string {
	if u == nil {
		return ""
	}
	return u.ID
}

// viewedLately reports whether u's read of item was logged within the
// viewing window.
func (m *Memory) viewedLately(u *custody.User, item string) bool {
	if u == nil {
		return false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	at, ok := m.views.get(viewKey{userID(u), item})
	return ok && m.now().Sub(at) < m.viewFor
}

// viewed notes that u's read of item was logged now.
func (m *Memory) viewed(u *custody.User, item string) {
	if u == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.views.put(viewKey{userID(u), item}, m.now())
}

// lru is a map bounded to max entries, dropping the least recently used.
// The caller locks.
type lru[K comparable, V any] struct {
	max   int
	order *list.List // of *lruEntry, most recent first
	byKey map[K]*list.Element
}

type lruEntry[K comparable, V any] struct {
	key K
	val V
}

func newLRU[K comparable, V any](max int) *lru[K, V] {
	return &lru[K, V]{max: max, order: list.New(), byKey: map[K]*list.Element{}}
}

func (c *lru[K, V]) get(k K) (V, bool) {
	el, ok := c.byKey[k]
	if !ok {
		var zero V
		return zero, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*lruEntry[K, V]).val, true
}

func (c *lru[K, V]) put(k K, v V) {
	if el, ok := c.byKey[k]; ok {
		el.Value.(*lruEntry[K, V]).val = v
		c.order.MoveToFront(el)
		return
	}
	c.byKey[k] = c.order.PushFront(&lruEntry[K, V]{k, v})
	for c.order.Len() > c.max {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.byKey, last.Value.(*lruEntry[K, V]).key)
	}
}

func (c *lru[K, V]) remove(k K) {
	if el, ok := c.byKey[k]; ok {
		c.order.Remove(el)
		delete(c.byKey, k)
	}
}

func (c *lru[K, V]) len() int { return c.order.Len() }
