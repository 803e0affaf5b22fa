package custody

import (
	"os"
	"slices"
	"strings"
	"testing"
)

// permissionTable renders RolePermissions as the Markdown table of
// docs/roles.md.
func permissionTable() string {
	var b strings.Builder
	b.WriteString("| role |")
	for _, p := range Permissions {
		b.WriteString(" " + string(p) + " |")
	}
	b.WriteString(" writes kinds | default clearance |\n| --- |")
	for range Permissions {
		b.WriteString(" --- |")
	}
	b.WriteString(" --- | --- |\n")
	for _, r := range Roles {
		b.WriteString("| " + string(r) + " |")
		for _, p := range Permissions {
			if r.Can(p) {
				b.WriteString(" yes |")
			} else {
				b.WriteString(" – |")
			}
		}
		kinds := RoleWriteKinds[r]
		switch {
		case len(kinds) == 0:
			b.WriteString(" – |")
		case slices.Equal(kinds, RecordKinds):
			b.WriteString(" all |")
		default:
			b.WriteString(" " + strings.Join(kinds, ", ") + " |")
		}
		b.WriteString(" " + DefaultClearance(r) + " |\n")
	}
	return b.String()
}

// TestPermissionTableDocumented keeps docs/roles.md's table the table the
// code enforces.
func TestPermissionTableDocumented(t *testing.T) {
	doc, err := os.ReadFile("docs/roles.md")
	if err != nil {
		t.Fatal(err)
	}
	if want := permissionTable(); !strings.Contains(string(doc), want) {
		t.Errorf("docs/roles.md does not hold the permission table; put this in it:\n\n%s", want)
	}
}

func TestRolePermissionsSane(t *testing.T) {
	for _, r := range Roles {
		ps, ok := RolePermissions[r]
		if !ok || !slices.Contains(ps, PermRead) {
			t.Errorf("role %s: permissions %v (every role reads)", r, ps)
		}
		if r.Can(PermWrite) != (len(RoleWriteKinds[r]) > 0) {
			t.Errorf("role %s: write permission and write kinds disagree", r)
		}
		for _, k := range RoleWriteKinds[r] {
			if !IsRecordKind(k) {
				t.Errorf("role %s writes unknown kind %q", r, k)
			}
		}
	}
	if RoleReviewer.Can(PermReadGeneral) || RoleReviewer.CanWrite() {
		t.Error("reviewers read only what their granted cases disclose")
	}
	for _, lv := range []string{"", "none", "low", "medium", "high", "secret"} {
		_ = ClearanceRank(lv)
	}
	if !(ClearanceRank("none") < ClearanceRank("low") && ClearanceRank("low") < ClearanceRank("medium") &&
		ClearanceRank("medium") < ClearanceRank("high") && ClearanceRank("high") < ClearanceRank("secret")) {
		t.Error("clearance ranks out of order (an unknown level must rank highest)")
	}
}
