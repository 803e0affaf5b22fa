package evidence_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"strconv"
	"testing"

	"github.com/custody-dev/custody"
	"github.com/custody-dev/custody/internal/evidence"
	"github.com/custody-dev/custody/internal/ledger"
	"github.com/custody-dev/custody/verify"
	"golang.org/x/mod/sumdb/note"
)

// scenario is a small, realistic store: users, digital and physical items,
// a duplicate, handovers and accesses, published in two checkpoints.
type scenario struct {
	inv, forensic *custody.User
	invToken      string
	photo, doc    *custody.Item
	dup, physical *custody.Item
	handover      *custody.Event // a handover of photo, logged mid-log
}

func (e *env) populate() *scenario {
	e.t.Helper()
	ctx := context.Background()
	s := &scenario{}
	var err error
	s.inv, s.invToken, err = e.svc.CreateUser(ctx, e.admin, "inv", custody.RoleInvestigator, "")
	if err != nil {
		e.t.Fatal(err)
	}
	s.forensic = e.user("forensic", custody.RoleForensic)
	s.photo = e.intake(s.inv, "photo.jpg", "photo bytes")
	s.doc = e.intake(s.inv, "statement.pdf", "%PDF-1.4 witness statement")
	e.publish() // first checkpoint
	s.dup = e.intake(s.forensic, "copy.jpg", "photo bytes")
	s.physical, err = e.svc.Intake(ctx, s.forensic, custody.IntakeRequest{Kind: custody.KindPhysical, Seal: "S-9",
		Location: "room B", Description: "rope", Lat: ptr(48.5), Lon: ptr(35.0)})
	if err != nil {
		e.t.Fatal(err)
	}
	if s.handover, err = e.svc.Handover(ctx, s.inv, custody.HandoverRequest{Item: s.photo.ID, To: "lab", Reason: "analysis", Seal: "S-10"}); err != nil {
		e.t.Fatal(err)
	}
	if err := e.svc.RecordAccess(ctx, s.forensic, s.photo.ID, "read", "analysis"); err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.svc.Handover(ctx, s.forensic, custody.HandoverRequest{Item: s.physical.ID, To: "court", Reason: "exhibit", Location: "court safe"}); err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.svc.NewToken(ctx, e.admin, "forensic"); err != nil {
		e.t.Fatal(err)
	}
	e.publish() // second checkpoint
	return s
}

// want describes a problem a tampering must produce. Zero fields are not
// compared.
type want struct {
	kind   string
	entry  *int64
	item   string
	object string
}

func (w want) match(p evidence.Problem) bool {
	return p.Kind == w.kind && (w.entry == nil || p.Entry != nil && *p.Entry == *w.entry) &&
		(w.item == "" || p.Item == w.item) && (w.object == "" || p.Object == w.object)
}

func (w want) String() string {
	s := "kind=" + w.kind
	if w.entry != nil {
		s += fmt.Sprintf(" entry=%d", *w.entry)
	}
	return s + " item=" + w.item + " object=" + w.object
}

func at(i uint64) *int64 { v := int64(i); return &v }

// rawEntry reads one log row directly.
func (e *env) rawEntry(i uint64) (leaf, payload []byte) {
	e.t.Helper()
	q := "SELECT leaf, payload FROM log_entries WHERE idx = ?"
	if e.dialect == "postgres" {
		q = "SELECT leaf, payload FROM log_entries WHERE idx = $1"
	}
	if err := e.raw().QueryRowContext(context.Background(), q, i).Scan(&leaf, &payload); err != nil {
		e.t.Fatal(err)
	}
	return leaf, payload
}

func TestVerifyDetectsTampering(t *testing.T) {
	tests := []struct {
		name   string
		tamper func(t *testing.T, e *env, s *scenario) []want
	}{
		{"clean store", func(t *testing.T, e *env, s *scenario) []want { return nil }},
		{"blob byte flipped on disk", func(t *testing.T, e *env, s *scenario) []want {
			path := e.blobs.Path(s.doc.Blob)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			data[3] ^= 0x20
			os.Chmod(path, 0o600)
			if err := os.WriteFile(path, data, 0o600); err != nil {
				t.Fatal(err)
			}
			return []want{{kind: "blob", item: s.doc.ID, object: string(s.doc.Blob)}}
		}},
		{"blob deleted", func(t *testing.T, e *env, s *scenario) []want {
			if err := os.Remove(e.blobs.Path(s.photo.Blob)); err != nil {
				t.Fatal(err)
			}
			// The first item naming the blob is named.
			return []want{{kind: "blob", item: s.photo.ID, object: string(s.photo.Blob)}}
		}},
		{"index row edited", func(t *testing.T, e *env, s *scenario) []want {
			e.exec("UPDATE items SET description = ? WHERE id = ?", "nothing to see here", s.physical.ID)
			return []want{{kind: "index", object: "items " + strconv.Quote(s.physical.ID)}}
		}},
		{"holder changed in the index", func(t *testing.T, e *env, s *scenario) []want {
			e.exec("UPDATE items SET holder = ? WHERE id = ?", "someone.else", s.photo.ID)
			return []want{{kind: "index", object: "items " + strconv.Quote(s.photo.ID)}}
		}},
		{"custody event deleted from the index", func(t *testing.T, e *env, s *scenario) []want {
			e.exec("DELETE FROM custody_events WHERE id = ?", s.handover.ID)
			return []want{{kind: "index", object: "custody_events " + strconv.Quote(s.handover.ID)}}
		}},
		{"forged user row", func(t *testing.T, e *env, s *scenario) []want {
			e.exec("INSERT INTO users (id, name, role, created_at, log_index) VALUES (?, ?, ?, ?, ?)", "forged-id", "mallory", "admin", "2026-01-01T00:00:00.000000000Z", 1)
			return []want{{kind: "index", object: "users " + strconv.Quote("forged-id")}}
		}},
		{"log entry dropped", func(t *testing.T, e *env, s *scenario) []want {
			e.exec("DELETE FROM log_entries WHERE idx = ?", s.handover.LogIndex)
			return []want{{kind: "entry", entry: at(s.handover.LogIndex)}}
		}},
		{"two log entries swapped", func(t *testing.T, e *env, s *scenario) []want {
			i, j := s.doc.LogIndex, s.dup.LogIndex
			li, pi := e.rawEntry(i)
			lj, pj := e.rawEntry(j)
			e.exec("UPDATE log_entries SET leaf = ?, payload = ? WHERE idx = ?", lj, pj, i)
			e.exec("UPDATE log_entries SET leaf = ?, payload = ? WHERE idx = ?", li, pi, j)
			return []want{{kind: "entry", entry: at(i)}, {kind: "entry", entry: at(j)}, {kind: "checkpoint"}}
		}},
		{"payload edited", func(t *testing.T, e *env, s *scenario) []want {
			_, p := e.rawEntry(s.handover.LogIndex)
			forged := bytes.Replace(p, []byte(`"to":"lab"`), []byte(`"to":"bob"`), 1)
			if bytes.Equal(forged, p) {
				t.Fatalf("payload %s has no holder to forge", p)
			}
			e.exec("UPDATE log_entries SET payload = ? WHERE idx = ?", forged, s.handover.LogIndex)
			return []want{{kind: "payload", entry: at(s.handover.LogIndex)}}
		}},
		{"leaf edited", func(t *testing.T, e *env, s *scenario) []want {
			l, _ := e.rawEntry(s.photo.LogIndex)
			forged := bytes.Replace(l, []byte(`"time":"2026-`), []byte(`"time":"2025-`), 1)
			e.exec("UPDATE log_entries SET leaf = ? WHERE idx = ?", forged, s.photo.LogIndex)
			return []want{{kind: "entry", entry: at(s.photo.LogIndex)}, {kind: "checkpoint"}}
		}},
		{"log truncated in the database", func(t *testing.T, e *env, s *scenario) []want {
			// An insider removes the newest entries and winds the counters
			// back; the signed checkpoints still name the old size.
			size := e.logSize()
			cut := s.handover.LogIndex
			e.exec("DELETE FROM log_entries WHERE idx >= ?", cut)
			e.exec("UPDATE log_seq SET size = ? WHERE id = 1", cut)
			return []want{{kind: "checkpoint", object: fmt.Sprintf("checkpoint %d", size)}, {kind: "index"}}
		}},
		{"log truncated with its checkpoints", func(t *testing.T, e *env, s *scenario) []want {
			// As above, and the newer checkpoint rows and the integration
			// size wound back too: the published checkpoint still names the
			// old size.
			cut := s.handover.LogIndex
			e.exec("DELETE FROM log_entries WHERE idx >= ?", cut)
			e.exec("UPDATE log_seq SET size = ? WHERE id = 1", cut)
			e.exec("DELETE FROM checkpoints WHERE size > ?", cut)
			e.exec("UPDATE log_integ SET size = ? WHERE id = 1", cut)
			return []want{{kind: "checkpoint", object: "published checkpoint"}}
		}},
		{"recorded checkpoint signed by another key", func(t *testing.T, e *env, s *scenario) []want {
			cps, err := e.db.Checkpoints(context.Background())
			if err != nil || len(cps) < 2 {
				t.Fatalf("checkpoints: %d, %v", len(cps), err)
			}
			c := cps[1]
			n, err := note.Open(c.Note, note.VerifierList(mustVerifier(t, e.vkey)))
			if err != nil {
				t.Fatal(err)
			}
			skey, _, err := ledger.GenerateKey(rand.Reader, e.origin) // same name, another key
			if err != nil {
				t.Fatal(err)
			}
			signer, err := note.NewSigner(skey)
			if err != nil {
				t.Fatal(err)
			}
			forged, err := note.Sign(&note.Note{Text: n.Text}, signer)
			if err != nil {
				t.Fatal(err)
			}
			e.exec("UPDATE checkpoints SET note = ? WHERE size = ?", string(forged), c.Size)
			return []want{{kind: "checkpoint", object: fmt.Sprintf("checkpoint %d", c.Size)}}
		}},
		{"published checkpoint from another store", func(t *testing.T, e *env, s *scenario) []want {
			other := newService(t, "sqlite")
			other.populate()
			raw, err := other.public.Get(context.Background(), "checkpoint")
			if err != nil {
				t.Fatal(err)
			}
			if err := e.public.Put(context.Background(), "checkpoint", raw); err != nil {
				t.Fatal(err)
			}
			return []want{{kind: "checkpoint", object: "published checkpoint"}}
		}},
		{"entry bundle damaged", func(t *testing.T, e *env, s *scenario) []want {
			ctx := context.Background()
			size := e.logSize()
			name := verify.EntriesPath(0, int(size))
			data, err := e.public.Get(ctx, name)
			if err != nil {
				t.Fatal(err)
			}
			data[len(data)-5] ^= 1
			if err := e.public.Put(ctx, name, data); err != nil {
				t.Fatal(err)
			}
			return []want{{kind: "tile"}}
		}},
	}
	forEachDialect(t, func(t *testing.T, dialect string) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				e := newService(t, dialect)
				s := e.populate()
				if r := e.verify(); !r.OK() {
					t.Fatalf("store is not clean before tampering: %+v", r.Problems)
				}
				wants := tt.tamper(t, e, s)
				r := e.verify()
				if len(wants) == 0 && !r.OK() {
					t.Errorf("clean store has problems: %+v", r.Problems)
				}
				for _, w := range wants {
					found := false
					for _, p := range r.Problems {
						if w.match(p) {
							found = true
							break
						}
					}
					if !found {
						t.Errorf("no problem %s among:", w)
						for _, p := range r.Problems {
							t.Logf("  %+v entry=%v", p, deref(p.Entry))
						}
					}
				}
				if r.Entries != e.logSize() {
					t.Errorf("report counts %d entries, log has %d", r.Entries, e.logSize())
				}
			})
		}
	})
}

func deref(p *int64) any {
	if p == nil {
		return nil
	}
	return *p
}

func mustVerifier(t *testing.T, vkey string) note.Verifier {
	t.Helper()
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
