package evidence_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/custody-dev/custody"
	"github.com/custody-dev/custody/internal/sqlstore"
	"github.com/custody-dev/custody/verify"
	"github.com/google/go-cmp/cmp"
)

func ptr(f float64) *float64 { return &f }

func TestIntakeFile(t *testing.T) {
	jpeg, err := os.ReadFile(filepath.Join("..", "capture", "testdata", "nikon-d2h-gps.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	forEachDialect(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		e := newService(t, dialect)
		inv := e.user("i.petrenko", custody.RoleInvestigator)
		before := e.logSize()
		it, err := e.svc.Intake(ctx, inv, custody.IntakeRequest{
			Name: `C:\Users\field\DCIM\..\DSC_0001.JPG`, Case: "UA-2026-001", Collector: "o.kovalenko",
			CollectedAt: "2026-02-28T10:04:00+02:00", Lat: ptr(50.45), Lon: ptr(30.52),
			Description: "photo of the impact site", Seal: "S-1", Location: "locker 3",
			DeviceTime: "2026-02-28T10:05:00+02:00", Content: bytes.NewReader(jpeg),
		})
		if err != nil {
			t.Fatalf("Intake: %v", err)
		}
		if got := e.logSize(); got != before+1 {
			t.Errorf("log size = %d, want %d", got, before+1)
		}
		if want := custody.Ref(verify.ContentRef(jpeg)); it.Blob != want {
			t.Errorf("Blob = %s, want %s", it.Blob, want)
		}
		if it.Size != int64(len(jpeg)) || it.MediaType != "image/jpeg" || it.Name != "DSC_0001.JPG" || it.Duplicate {
			t.Errorf("item = size %d type %q name %q dup %v", it.Size, it.MediaType, it.Name, it.Duplicate)
		}
		if it.LogIndex != before || it.Holder != "o.kovalenko" || it.IngestedBy != inv.ID || it.Store != e.storeID {
			t.Errorf("item = index %d holder %q by %q store %q", it.LogIndex, it.Holder, it.IngestedBy, it.Store)
		}
		var md struct {
			Make, Model string
			GPS         *struct{ Lat, Lon float64 }
			Width       int
		}
		if err := json.Unmarshal(it.Capture, &md); err != nil {
			t.Fatalf("capture %s: %v", it.Capture, err)
		}
		if md.Make != "NIKON CORPORATION" || md.Model != "NIKON D2H" || md.Width != 500 || md.GPS == nil ||
			md.GPS.Lat < 39.91 || md.GPS.Lat > 39.92 || md.GPS.Lon < 116.39 || md.GPS.Lon > 116.40 {
			t.Errorf("capture = %s", it.Capture)
		}
		// The index returns what Intake returned.
		got, err := e.svc.Item(ctx, custody.SystemActor, it.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(it, got); diff != "" {
			t.Errorf("Item differs from Intake's result (-intake +index):\n%s", diff)
		}
		// The stored blob is the file.
		rc, err := e.blobs.Open(ctx, it.Blob)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if _, err := buf.ReadFrom(rc); err != nil {
			t.Fatal(err)
		}
		rc.Close()
		if !bytes.Equal(buf.Bytes(), jpeg) {
			t.Error("stored blob differs from the file")
		}
		hist, err := e.svc.History(ctx, custody.SystemActor, it.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(hist) != 1 || hist[0].Type != "intake" || hist[0].To != "o.kovalenko" || hist[0].LogIndex != it.LogIndex {
			t.Errorf("history = %+v", hist)
		}
		if _, err := e.svc.Item(ctx, custody.SystemActor, "no-such-item"); custody.ErrorCode(err) != custody.ENOTFOUND {
			t.Errorf("Item(unknown) = %v, want ENOTFOUND", err)
		}
	})
}

func TestIntakeDuplicate(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		e := newService(t, dialect)
		a := e.intake(e.admin, "a.txt", "same content")
		b := e.intake(e.admin, "b.txt", "same content")
		if a.Duplicate || !b.Duplicate || a.Blob != b.Blob || a.ID == b.ID {
			t.Fatalf("a = %s dup %v, b = %s dup %v", a.Blob, a.Duplicate, b.Blob, b.Duplicate)
		}
		var refs []custody.Ref
		if err := e.blobs.Refs(ctx, func(r custody.Ref) error { refs = append(refs, r); return nil }); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]custody.Ref{a.Blob}, refs); diff != "" {
			t.Errorf("stored blobs (-want +got):\n%s", diff)
		}
		items, err := e.svc.Items(ctx, custody.SystemActor, custody.ItemFilter{Blob: a.Blob})
		if err != nil {
			t.Fatal(err)
		}
		if len(items) != 2 || items[0].ID != a.ID || items[1].ID != b.ID || !items[1].Duplicate {
			t.Errorf("items with the blob = %+v", items)
		}
	})
}

func TestIntakePhysical(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		e := newService(t, dialect)
		sap := e.user("sapper1", custody.RoleSapper)
		it, err := e.svc.Intake(ctx, sap, custody.IntakeRequest{Kind: custody.KindPhysical, Case: "UA-2026-002",
			Description: "fragment of a shell casing", Seal: "S-77", Location: "evidence room B"})
		if err != nil {
			t.Fatal(err)
		}
		got, err := e.svc.Item(ctx, custody.SystemActor, it.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Kind != custody.KindPhysical || got.Blob != "" || got.Size != 0 || got.MediaType != "" || got.Capture != nil ||
			got.Holder != sap.ID || got.Seal != "S-77" || got.Location != "evidence room B" {
			t.Errorf("physical item = %+v", got)
		}
		if diff := cmp.Diff(it, got); diff != "" {
			t.Errorf("Item differs from Intake's result:\n%s", diff)
		}
	})
}

func TestIntakeInvalid(t *testing.T) {
	long := strings.Repeat("x", 257)
	file := func() *strings.Reader { return strings.NewReader("content") }
	tests := []struct {
		name string
		role custody.Role
		req  func() custody.IntakeRequest
		code string
	}{
		{"empty file", custody.RoleInvestigator, func() custody.IntakeRequest {
			return custody.IntakeRequest{Name: "empty.jpg", Content: strings.NewReader("")}
		}, custody.EINVALID},
		{"digital without file", custody.RoleInvestigator, func() custody.IntakeRequest { return custody.IntakeRequest{Name: "x"} }, custody.EINVALID},
		{"unknown kind", custody.RoleInvestigator, func() custody.IntakeRequest {
			return custody.IntakeRequest{Kind: "liquid", Content: file()}
		}, custody.EINVALID},
		{"latitude over 90", custody.RoleInvestigator, func() custody.IntakeRequest {
			return custody.IntakeRequest{Content: file(), Lat: ptr(91), Lon: ptr(30)}
		}, custody.EINVALID},
		{"longitude under -180", custody.RoleInvestigator, func() custody.IntakeRequest {
			return custody.IntakeRequest{Content: file(), Lat: ptr(50), Lon: ptr(-180.5)}
		}, custody.EINVALID},
		{"latitude without longitude", custody.RoleInvestigator, func() custody.IntakeRequest {
			return custody.IntakeRequest{Content: file(), Lat: ptr(50)}
		}, custody.EINVALID},
		{"bad collected-at", custody.RoleInvestigator, func() custody.IntakeRequest {
			return custody.IntakeRequest{Content: file(), CollectedAt: "28.02.2026 10:04"}
		}, custody.EINVALID},
		{"bad device time", custody.RoleInvestigator, func() custody.IntakeRequest {
			return custody.IntakeRequest{Content: file(), DeviceTime: "yesterday"}
		}, custody.EINVALID},
		{"case too long", custody.RoleInvestigator, func() custody.IntakeRequest {
			return custody.IntakeRequest{Content: file(), Case: long}
		}, custody.ETOOLARGE},
		{"description too long", custody.RoleInvestigator, func() custody.IntakeRequest {
			return custody.IntakeRequest{Content: file(), Description: strings.Repeat("d", 8193)}
		}, custody.ETOOLARGE},
		{"control character in seal", custody.RoleInvestigator, func() custody.IntakeRequest {
			return custody.IntakeRequest{Content: file(), Seal: "S-1\x1b[31m"}
		}, custody.EINVALID},
		{"invalid UTF-8 in collector", custody.RoleInvestigator, func() custody.IntakeRequest {
			return custody.IntakeRequest{Content: file(), Collector: "o.\xffkovalenko"}
		}, custody.EINVALID},
		{"reviewer may not intake", custody.RoleReviewer, func() custody.IntakeRequest { return custody.IntakeRequest{Content: file()} }, custody.EFORBIDDEN},
		{"analyst may not intake", custody.RoleAnalyst, func() custody.IntakeRequest { return custody.IntakeRequest{Content: file()} }, custody.EFORBIDDEN},
	}
	forEachDialect(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		e := newService(t, dialect)
		users := map[custody.Role]*custody.User{}
		for _, r := range []custody.Role{custody.RoleInvestigator, custody.RoleReviewer, custody.RoleAnalyst} {
			users[r] = e.user("u-"+string(r), r)
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				before := e.logSize()
				it, err := e.svc.Intake(ctx, users[tt.role], tt.req())
				if it != nil {
					t.Errorf("Intake returned an item: %+v", it)
				}
				wantCode(t, err, tt.code)
				if got := e.logSize(); got != before {
					t.Errorf("log size %d -> %d: a rejected intake was logged", before, got)
				}
			})
		}
		items, err := e.svc.Items(ctx, custody.SystemActor, custody.ItemFilter{})
		if err != nil || len(items) != 0 {
			t.Errorf("items after rejected intakes = %d, %v", len(items), err)
		}
	})
}

func TestHandoverChain(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		e := newService(t, dialect)
		inv := e.user("inv", custody.RoleInvestigator)
		it := e.intake(inv, "a.jpg", "evidence")
		steps := []custody.HandoverRequest{
			{Item: it.ID, To: "lab.kyiv", Reason: "ballistics", Seal: "S-2", Location: "lab shelf 4"},
			{Item: it.ID, To: "prosecutor.office", Reason: "trial preparation", DeviceTime: "2026-03-01T11:00:00+02:00"},
			{Item: it.ID, To: "court.registry", Reason: "exhibit"},
		}
		want := []*custody.Event{{Type: "intake", Item: it.ID, To: "o.kovalenko", Actor: inv.ID}}
		from := "o.kovalenko"
		for _, s := range steps {
			ev, err := e.svc.Handover(ctx, inv, s)
			if err != nil {
				t.Fatalf("Handover to %s: %v", s.To, err)
			}
			if ev.From != from || ev.To != s.To {
				t.Errorf("event %s -> %s, want %s -> %s", ev.From, ev.To, from, s.To)
			}
			want = append(want, &custody.Event{Type: "handover", Item: it.ID, From: from, To: s.To, Reason: s.Reason,
				Seal: s.Seal, Location: s.Location, Actor: inv.ID})
			from = s.To
		}
		hist, err := e.svc.History(ctx, custody.SystemActor, it.ID)
		if err != nil {
			t.Fatal(err)
		}
		ignore := cmp.FilterPath(func(p cmp.Path) bool {
			n := p.Last().String()
			return n == ".ID" || n == ".Time" || n == ".LogIndex"
		}, cmp.Ignore())
		if diff := cmp.Diff(want, hist, ignore); diff != "" {
			t.Errorf("History (-want +got):\n%s", diff)
		}
		for i := 1; i < len(hist); i++ {
			if hist[i].LogIndex <= hist[i-1].LogIndex || hist[i].Time < hist[i-1].Time {
				t.Errorf("history out of order at %d: %+v after %+v", i, hist[i], hist[i-1])
			}
		}
		got, _ := e.svc.Item(ctx, custody.SystemActor, it.ID)
		if got.Holder != "court.registry" || got.Seal != "S-2" || got.Location != "lab shelf 4" {
			t.Errorf("item after handovers: holder %q seal %q location %q", got.Holder, got.Seal, got.Location)
		}

		// Rejected handovers are not logged.
		rev := e.user("rev", custody.RoleReviewer)
		before := e.logSize()
		for _, tc := range []struct {
			name  string
			actor *custody.User
			req   custody.HandoverRequest
			code  string
		}{
			{"reviewer", rev, custody.HandoverRequest{Item: it.ID, To: "x", Reason: "r"}, custody.EFORBIDDEN},
			{"unknown item", inv, custody.HandoverRequest{Item: "nope", To: "x", Reason: "r"}, custody.ENOTFOUND},
			{"no holder", inv, custody.HandoverRequest{Item: it.ID, To: " ", Reason: "r"}, custody.EINVALID},
			{"no reason", inv, custody.HandoverRequest{Item: it.ID, To: "x"}, custody.EINVALID},
			{"same holder", inv, custody.HandoverRequest{Item: it.ID, To: "court.registry", Reason: "r"}, custody.EINVALID},
			{"control char", inv, custody.HandoverRequest{Item: it.ID, To: "x\x00", Reason: "r"}, custody.EINVALID},
			{"long holder", inv, custody.HandoverRequest{Item: it.ID, To: strings.Repeat("h", 300), Reason: "r"}, custody.ETOOLARGE},
			{"bad device time", inv, custody.HandoverRequest{Item: it.ID, To: "x", Reason: "r", DeviceTime: "now"}, custody.EINVALID},
		} {
			_, err := e.svc.Handover(ctx, tc.actor, tc.req)
			if custody.ErrorCode(err) != tc.code {
				t.Errorf("%s: error %v, want %s", tc.name, err, tc.code)
			}
		}
		if got := e.logSize(); got != before {
			t.Errorf("rejected handovers changed the log size %d -> %d", before, got)
		}
		if _, err := e.svc.History(ctx, custody.SystemActor, "nope"); custody.ErrorCode(err) != custody.ENOTFOUND {
			t.Errorf("History(unknown) = %v, want ENOTFOUND", err)
		}
	})
}

func TestConcurrentHandover(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		e := newService(t, dialect)
		it := e.intake(e.admin, "a.jpg", "contested")
		const n = 8
		errs := make([]error, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				_, errs[i] = e.svc.Handover(ctx, e.admin, custody.HandoverRequest{Item: it.ID, To: "holder-" + itoa(i), Reason: "race"})
			})
		}
		before := e.logSize()
		close(start)
		wg.Wait()
		won := 0
		for i, err := range errs {
			switch custody.ErrorCode(err) {
			case "":
				won++
			case custody.ECONFLICT:
			default:
				t.Errorf("handover %d: %v, want success or ECONFLICT", i, err)
			}
		}
		// Handovers that read the holder after the winner committed may
		// succeed too (they hand on from the new holder); what must never
		// happen is two handovers from the same holder.
		if won < 1 {
			t.Fatalf("no handover won")
		}
		if got := e.logSize(); got != before+uint64(won) {
			t.Errorf("log grew by %d, want %d (one per winner)", got-before, won)
		}
		hist, err := e.svc.History(ctx, custody.SystemActor, it.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(hist) != won+1 {
			t.Fatalf("history has %d events, want %d", len(hist), won+1)
		}
		for i := 1; i < len(hist); i++ {
			if hist[i].From != hist[i-1].To {
				t.Errorf("chain broken at %d: from %q after to %q", i, hist[i].From, hist[i-1].To)
			}
		}
		e.publish()
		if r := e.verify(); !r.OK() {
			t.Errorf("Verify after concurrent handovers: %+v", r.Problems)
		}
	})
}

// TestConcurrentHandoverSameHolder pins the race down: two handovers that
// both read the same holder, appended in one batch; exactly one wins.
func TestConcurrentHandoverSameHolder(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		e := newService(t, dialect)
		it := e.intake(e.admin, "a.jpg", "contested")
		mk := func(to string) sqlstore.Pending {
			raw, err := verify.Canonical(custody.Handover{Nonce: "n", Item: it.ID, From: it.Holder, To: to, Reason: "race"})
			if err != nil {
				t.Fatal(err)
			}
			return sqlstore.Pending{Entry: custody.Entry{ID: to, Type: custody.EntryHandover, Store: e.storeID,
				Actor: e.admin.ID, Subject: it.ID}, Payload: raw}
		}
		before := e.logSize()
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, to := range []string{"alice", "bob"} {
			wg.Go(func() { _, errs[i] = e.db.Append(ctx, mk(to)) })
		}
		wg.Wait()
		codes := []string{custody.ErrorCode(errs[0]), custody.ErrorCode(errs[1])}
		if !(codes[0] == "" && codes[1] == custody.ECONFLICT || codes[0] == custody.ECONFLICT && codes[1] == "") {
			t.Fatalf("errors = %v, %v: want exactly one ECONFLICT", errs[0], errs[1])
		}
		if got := e.logSize(); got != before+1 {
			t.Errorf("log size %d, want %d", got, before+1)
		}
		e.publish()
		if r := e.verify(); !r.OK() {
			t.Errorf("Verify: %+v", r.Problems)
		}
	})
}

func TestUsers(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		e := newService(t, dialect)
		u, token, err := e.svc.CreateUser(ctx, e.admin, "o.kovalenko", custody.RoleInvestigator, "correct horse battery")
		if err != nil {
			t.Fatal(err)
		}
		if u.Name != "o.kovalenko" || u.Role != custody.RoleInvestigator || u.ID == "" || u.CreatedAt == "" {
			t.Errorf("user = %+v", u)
		}
		got, err := e.svc.Authenticate(ctx, token)
		if err != nil {
			t.Fatalf("Authenticate: %v", err)
		}
		if diff := cmp.Diff(u, got); diff != "" {
			t.Errorf("Authenticate (-created +got):\n%s", diff)
		}
		if a, err := e.svc.Authenticate(ctx, e.adminToken); err != nil || a.ID != e.admin.ID {
			t.Errorf("admin token: %v, %v", a, err)
		}

		before := e.logSize()
		for _, tc := range []struct {
			name  string
			actor *custody.User
			uname string
			role  custody.Role
			pw    string
			code  string
		}{
			{"duplicate name", e.admin, "o.kovalenko", custody.RoleAnalyst, "", custody.ECONFLICT},
			{"not admin", u, "x", custody.RoleAnalyst, "", custody.EFORBIDDEN},
			{"bad name", e.admin, "o kovalenko", custody.RoleAnalyst, "", custody.EINVALID},
			{"empty name", e.admin, "", custody.RoleAnalyst, "", custody.EINVALID},
			{"unknown role", e.admin, "x", "janitor", "", custody.EINVALID},
			{"short password", e.admin, "x", custody.RoleAnalyst, "short", custody.EINVALID},
		} {
			_, _, err := e.svc.CreateUser(ctx, tc.actor, tc.uname, tc.role, tc.pw)
			if custody.ErrorCode(err) != tc.code {
				t.Errorf("%s: %v, want %s", tc.name, err, tc.code)
			}
		}
		if got := e.logSize(); got != before {
			t.Errorf("rejected user creations changed the log size %d -> %d", before, got)
		}

		// A new token revokes the old one.
		newToken, err := e.svc.NewToken(ctx, e.admin, "o.kovalenko")
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name, token, code string
		}{
			{"new token", newToken, ""},
			{"revoked token", token, custody.EUNAUTHORIZED},
			{"garbage", "cst_garbage", custody.EUNAUTHORIZED},
			{"no prefix", strings.TrimPrefix(newToken, "cst_"), custody.EUNAUTHORIZED},
			{"empty", "", custody.EUNAUTHORIZED},
			{"huge", "cst_" + strings.Repeat("a", 200), custody.EUNAUTHORIZED},
		} {
			u2, err := e.svc.Authenticate(ctx, tc.token)
			if custody.ErrorCode(err) != tc.code {
				t.Errorf("%s: %v, want %q", tc.name, err, tc.code)
			}
			if tc.code == "" && (u2 == nil || u2.ID != u.ID) {
				t.Errorf("%s: user %+v", tc.name, u2)
			}
		}
		if _, err := e.svc.NewToken(ctx, u, "admin"); custody.ErrorCode(err) != custody.EFORBIDDEN {
			t.Errorf("NewToken by non-admin: %v", err)
		}
		if _, err := e.svc.NewToken(ctx, e.admin, "nobody"); custody.ErrorCode(err) != custody.ENOTFOUND {
			t.Errorf("NewToken for unknown user: %v", err)
		}
	})
}

func TestProofs(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		e := newService(t, dialect)
		var items []*custody.Item
		for i := range 5 {
			items = append(items, e.intake(e.admin, "f"+itoa(i), "content "+itoa(i)))
		}
		e.publish()
		cp1, _, err := e.svc.Checkpoint(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 300 { // crosses an entry bundle boundary
			if err := e.svc.RecordAccess(ctx, e.admin, items[i%5].ID, "read", "review"); err != nil {
				t.Fatal(err)
			}
		}
		cp2, _, err := e.svc.Checkpoint(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if cp2.Size != e.logSize() || cp2.Size <= cp1.Size {
			t.Fatalf("checkpoint sizes %d, %d; log %d", cp1.Size, cp2.Size, e.logSize())
		}
		for i := uint64(0); i < cp2.Size; i++ {
			p, err := e.svc.ProveIndex(ctx, i)
			if err != nil {
				t.Fatalf("ProveIndex(%d): %v", i, err)
			}
			if !p.Verified || p.Index != i || p.TreeSize != cp2.Size {
				t.Fatalf("proof %d: %+v", i, p)
			}
			// Check it independently, as a third party would.
			cp, err := verify.OpenCheckpoint([]byte(p.Checkpoint), e.vkey)
			if err != nil {
				t.Fatal(err)
			}
			if err := verify.VerifyInclusion(verify.LeafHash([]byte(p.Entry)), i, cp.Size, p.Hashes, cp.Root); err != nil {
				t.Fatalf("entry %d: %v", i, err)
			}
		}
		p, err := e.svc.ProveItem(ctx, items[2].ID)
		if err != nil || p.Index != items[2].LogIndex {
			t.Errorf("ProveItem = %+v, %v", p, err)
		}
		ent, err := verify.ParseEntry([]byte(p.Entry))
		if err != nil || ent.Subject != items[2].ID || ent.Type != custody.EntryItemAdd {
			t.Errorf("proved entry = %+v, %v", ent, err)
		}
		if _, err := e.svc.ProveIndex(ctx, cp2.Size); custody.ErrorCode(err) != custody.ENOTFOUND {
			t.Errorf("ProveIndex(size) = %v, want ENOTFOUND", err)
		}
		if _, err := e.svc.ProveItem(ctx, "nope"); custody.ErrorCode(err) != custody.ENOTFOUND {
			t.Errorf("ProveItem(unknown) = %v, want ENOTFOUND", err)
		}

		// Consistency between the two checkpoints, and between every
		// recorded checkpoint and the latest.
		proof, err := e.svc.ConsistencyProof(ctx, cp1.Size, cp2.Size)
		if err != nil {
			t.Fatal(err)
		}
		if err := verify.VerifyConsistency(cp1.Size, cp2.Size, proof, cp1.Root, cp2.Root); err != nil {
			t.Errorf("VerifyConsistency(%d, %d): %v", cp1.Size, cp2.Size, err)
		}
		cps, err := e.db.Checkpoints(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cps {
			old, err := verify.OpenCheckpoint(c.Note, e.vkey)
			if err != nil {
				t.Fatal(err)
			}
			proof, err := e.svc.ConsistencyProof(ctx, old.Size, cp2.Size)
			if err != nil {
				t.Fatal(err)
			}
			if err := verify.VerifyConsistency(old.Size, cp2.Size, proof, old.Root, cp2.Root); err != nil {
				t.Errorf("VerifyConsistency(%d, %d): %v", old.Size, cp2.Size, err)
			}
		}
		// A wrong old root does not verify.
		bad := bytes.Clone(cp1.Root)
		bad[0] ^= 1
		if err := verify.VerifyConsistency(cp1.Size, cp2.Size, proof, bad, cp2.Root); err == nil {
			t.Error("consistency proof verified against a wrong root")
		}
		if _, err := e.svc.ConsistencyProof(ctx, cp2.Size, cp1.Size); custody.ErrorCode(err) != custody.EINVALID {
			t.Errorf("ConsistencyProof(to < from) = %v, want EINVALID", err)
		}
		if r := e.verify(); !r.OK() || r.Entries != cp2.Size {
			t.Errorf("Verify: entries %d, problems %+v", r.Entries, r.Problems)
		}
	})
}

// TestEmptyFileStoresNothing: an empty upload is refused before any blob
// is written.
func TestEmptyFileStoresNothing(t *testing.T) {
	e := newService(t, "sqlite")
	ctx := context.Background()
	_, err := e.svc.Intake(ctx, e.admin, custody.IntakeRequest{Name: "empty.jpg", Content: strings.NewReader("")})
	wantCode(t, err, custody.EINVALID)
	n := 0
	if err := e.blobs.Refs(ctx, func(custody.Ref) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d blobs stored after refusing an empty file", n)
	}
}
