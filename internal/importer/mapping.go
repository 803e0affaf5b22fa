package importer

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/custody-dev/custody"
)

// A Map declares that the record field Field (a dotted path such as
// "killed_confirmed" or "ante_mortem.last_seen_at") is fed by Source: a CSV
// column, or a property of a JSON object or GeoJSON feature (a dotted path
// reaches into nested objects when no property has the whole name). With
// Const, Source is instead the value of the field in every row ("day" for
// an incident's precision), converted like a CSV cell.
type Map struct {
	Field  string `json:"field"`
	Source string `json:"source"`
	Const  bool   `json:"const,omitempty"`
}

// ParseMapping parses "field=column,field=column,...", as given on the
// command line. Columns with commas in their names need a mapping file.
func ParseMapping(spec string) ([]Map, error) {
	var out []Map
	for part := range strings.SplitSeq(spec, ",") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		m, err := parseMap(part)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

func parseMap(s string) (Map, error) {
	f, src, ok := strings.Cut(s, "=")
	f, src = strings.TrimSpace(f), strings.TrimSpace(src)
	if !ok || f == "" || src == "" {
		return Map{}, &custody.Error{Code: custody.EINVALID, Message: fmt.Sprintf("mapping %q is not FIELD=COLUMN", truncate(s, 60)),
			Hint: "e.g. killed_confirmed=Killed"}
	}
	return Map{Field: f, Source: src}, nil
}

// ReadMapping reads a mapping file: either a JSON object of field to
// column ({"type": "Incident type", "time": "Date"}), or lines of
// FIELD=COLUMN (blank lines and lines starting with # are skipped).
func ReadMapping(r io.Reader) ([]Map, error) {
	raw, err := io.ReadAll(io.LimitReader(r, 1<<20+1))
	if err != nil {
		return nil, fmt.Errorf("read mapping: %w", err)
	}
	if len(raw) > 1<<20 {
		return nil, custody.Errorf(custody.EINVALID, "the mapping file is over 1 MiB")
	}
	raw = bytes.TrimPrefix(raw, bom)
	if t := bytes.TrimSpace(raw); len(t) > 0 && t[0] == '{' {
		dec := json.NewDecoder(bytes.NewReader(t))
		if _, err := dec.Token(); err != nil {
			return nil, custody.Errorf(custody.EINVALID, "mapping file: %v", err)
		}
		var out []Map
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return nil, custody.Errorf(custody.EINVALID, "mapping file: %v", err)
			}
			var v string
			if err := dec.Decode(&v); err != nil {
				return nil, custody.Errorf(custody.EINVALID, "mapping file: the column of %q must be a string", k)
			}
			out = append(out, Map{Field: k.(string), Source: v})
		}
		if _, err := dec.Token(); err != nil {
			return nil, custody.Errorf(custody.EINVALID, "mapping file: %v", err)
		}
		if dec.More() {
			return nil, custody.Errorf(custody.EINVALID, "mapping file: trailing data after the object")
		}
		return out, nil
	}
	var out []Map
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		m, err := parseMap(line)
		if err != nil {
			return nil, fmt.Errorf("mapping file line %d: %w", n, err)
		}
		out = append(out, m)
	}
	return out, sc.Err()
}

// Source indexes of a plan node that is not fed by one source.
const (
	srcChildren = -1 // an object assembled from its mapped fields
	srcGeometry = -2 // the GeoJSON feature's geometry
	srcConst    = -3 // a constant
)

// pnode is a field of the output with where its value comes from.
type pnode struct {
	f        *field
	src      int
	key      []byte // "name": ready to append
	value    string // srcConst
	children []*pnode
}

// plan is a compiled mapping: the output tree and the sources it reads.
type plan struct {
	root    *pnode
	sources []string // names, indexed by pnode.src
}

func newPlan(root *field) *plan {
	return &plan{root: &pnode{f: root, src: srcChildren}}
}

// add makes the field at path fed by source (or, if constant, set to it).
func (p *plan) add(kind, path, source string, constant bool) error {
	f := p.root.f.lookup(path)
	if f == nil {
		return &custody.Error{Code: custody.EINVALID, Message: fmt.Sprintf("%s records have no field %q", kind, truncate(path, 60)),
			Hint: suggestField(kind, path)}
	}
	n := p.root
	parts := strings.Split(path, ".")
	for i, part := range parts {
		if n.src != srcChildren {
			return custody.Errorf(custody.EINVALID, "%s is mapped whole, so %s cannot be mapped too", n.f.path, path)
		}
		var c *pnode
		for _, x := range n.children {
			if x.f.name == part {
				c = x
			}
		}
		if c == nil {
			cf := n.f.child(part)
			c = &pnode{f: cf, src: srcChildren, key: appendKey(nil, cf.name)}
			n.children = append(n.children, c)
			slices.SortFunc(n.children, func(a, b *pnode) int { return a.f.order - b.f.order })
		}
		n = c
		if i < len(parts)-1 {
			continue
		}
		switch {
		case n.src != srcChildren:
			return custody.Errorf(custody.EINVALID, "%s is mapped twice", path)
		case len(n.children) > 0:
			return custody.Errorf(custody.EINVALID, "fields of %s are mapped, so %s cannot be mapped whole too", path, path)
		}
		switch {
		case constant:
			n.src, n.value = srcConst, source
			if _, _, err := appendValue(nil, n.f.typ, cell{text: source}); err != nil {
				return custody.Errorf(custody.EINVALID, "the value of %s: %v", path, err)
			}
		case source == geometrySource:
			n.src = srcGeometry
		default:
			n.src = len(p.sources)
			p.sources = append(p.sources, source)
		}
	}
	return nil
}

// geometrySource is the internal name of a GeoJSON feature's geometry.
const geometrySource = "\x00geometry"

// mapped reports whether the plan feeds path or any field under it.
func (p *plan) mapped(path string) bool {
	n := p.root
	for part := range strings.SplitSeq(path, ".") {
		var c *pnode
		for _, x := range n.children {
			if x.f.name == part {
				c = x
			}
		}
		if c == nil {
			return false
		}
		n = c
	}
	return true
}

func appendKey(b []byte, name string) []byte {
	b, _ = appendString(b, name)
	return append(b, ':')
}

func suggestField(kind, path string) string {
	fields := Fields(kind)
	best, bestD := "", 4
	for _, f := range fields {
		if d := editDistance(strings.ToLower(path), f); d < bestD {
			best, bestD = f, d
		}
	}
	if best != "" {
		return fmt.Sprintf("did you mean %q?", best)
	}
	return kind + " fields: " + strings.Join(fields, ", ")
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !isRuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }
