package export

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"html/template"
	"strconv"
	"strings"
	"time"

	"github.com/custody-dev/custody/verify"
)

// report is what the human-readable documents (report.html, report.pdf,
// README.txt) show. They are renderings of the checked documents, for
// people; the verifier checks them only against SHA256SUMS.
type report struct {
	M          verify.BundleManifest
	Rows       []verify.BundleItem
	Chains     []reportChain
	Redactions verify.BundleRedactions
	Checkpoint string
	Key        string
	Root       string
	Exporter   string
}

type reportChain struct {
	RegNo, Item, Holder string
	Events              []reportEvent
}

type reportEvent struct {
	Index    uint64
	Time     string
	Actor    string
	What     string
	Withheld bool
}

func (b *bundle) report() *report {
	r := &report{M: b.manifest, Rows: b.rows, Redactions: b.redactions, Checkpoint: string(b.proofs.Note), Key: b.proofs.VerifierKey,
		Root: base64.StdEncoding.EncodeToString(b.proofs.Checkpoint.Root), Exporter: b.actors[b.opts.Actor.ID]}
	if r.Exporter == "" {
		r.Exporter = b.opts.Actor.Name
	}
	for _, c := range b.chains {
		rc := reportChain{RegNo: c.RegNo, Item: c.Item, Holder: c.Holder}
		for _, ev := range c.Events {
			actor := b.actors[ev.Actor]
			if actor == "" {
				actor = ev.Actor
			}
			rc.Events = append(rc.Events, reportEvent{Index: ev.Index, Time: ev.Time, Actor: actor, What: describe(ev), Withheld: ev.Withheld})
		}
		r.Chains = append(r.Chains, rc)
	}
	return r
}

// describe says what a chain-of-custody event was.
func describe(ev verify.BundleEvent) string {
	var s string
	switch ev.Type {
	case "intake":
		s = "intake, held by " + ev.To
	case "handover":
		s = fmt.Sprintf("handover %s → %s", ev.From, ev.To)
		if ev.Reason != "" {
			s += ": " + ev.Reason
		}
	default:
		s = ev.Type
		if ev.Reason != "" {
			s += ": " + ev.Reason
		}
	}
	if ev.Seal != "" {
		s += "; seal " + ev.Seal
	}
	if ev.Location != "" {
		s += "; location " + ev.Location
	}
	return s
}

func humanSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.2f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

var reportHTML = template.Must(template.New("report").Funcs(template.FuncMap{"size": humanSize}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Court bundle {{.M.Case}}-{{.M.Batch}}</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 70em; padding: 0 1em; color: #111; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; width: 100%; margin: .5em 0; }
th, td { border: 1px solid #ccc; padding: .3em .5em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
code, pre, .hash { font-family: ui-monospace, monospace; font-size: .92em; word-break: break-all; }
pre { background: #f7f7f7; padding: .7em; white-space: pre-wrap; }
.withheld { color: #8a4b00; }
dl { display: grid; grid-template-columns: max-content auto; gap: .2em 1em; } dt { font-weight: 600; }
@media print { body { margin: 0; } h2 { page-break-after: avoid; } }
</style>
</head>
<body>
<h1>Court bundle {{.M.Case}}-{{.M.Batch}}</h1>
<dl>
<dt>Case</dt><dd>{{.M.Case}}</dd>
<dt>Batch</dt><dd>{{.M.Batch}} (the log index of the export's first access entry)</dd>
<dt>Export</dt><dd><code>{{.M.Export}}</code></dd>
<dt>Created</dt><dd>{{.M.Created}}</dd>
<dt>Store</dt><dd>{{if .M.StoreName}}{{.M.StoreName}} {{end}}<code>{{.M.Store}}</code></dd>
<dt>Exported by</dt><dd>{{.Exporter}}</dd>
<dt>Items</dt><dd>{{.M.Items}}</dd>
</dl>

<h2>Checkpoint</h2>
<p>Every log entry in this bundle is proven to be in the log whose tree head this signed checkpoint states
(tree size {{.M.TreeSize}}, root <code>{{.Root}}</code>). Its signature is checked with the store's verifier key:</p>
<pre>{{.Checkpoint}}</pre>
<p>Verifier key: <code>{{.Key}}</code></p>

<h2>Items</h2>
<table>
<tr><th>Registration number</th><th>Title</th><th>Date</th><th>Type</th><th>Author</th><th>Language</th><th>Size</th><th>Log index</th></tr>
{{range .Rows}}<tr><td>{{.RegNo}}</td><td>{{.Title}}</td><td>{{.Date}}</td><td>{{.Type}}</td><td>{{.Author}}</td><td>{{.Language}}</td><td>{{size .Size}}</td><td>#{{.LogIndex}}</td></tr>
<tr><td colspan="8"><span class="hash">SHA-256 {{if .SHA256}}{{.SHA256}}{{else}}(no file){{end}}</span>{{if .File}} &middot; <code>{{.File}}</code>{{end}} &middot; {{.Confidentiality}}{{if .Redacted}} &middot; <span class="withheld">redacted (witness protection)</span>{{end}}</td></tr>
{{end}}</table>

<h2>Chain of custody</h2>
{{range .Chains}}<h3>{{.RegNo}} <small><code>{{.Item}}</code></small></h3>
<table>
<tr><th>Log index</th><th>Time (UTC)</th><th>By</th><th>Event</th></tr>
{{range .Events}}<tr><td>#{{.Index}}</td><td>{{.Time}}</td><td>{{.Actor}}</td><td>{{.What}}{{if .Withheld}} <span class="withheld">[pseudonymised]</span>{{end}}</td></tr>
{{end}}</table>
<p>Held at export by {{.Holder}}.</p>
{{end}}

<h2>Witness protection</h2>
<p>{{.Redactions.Policy}}</p>
{{if .Redactions.Pseudonyms}}<table><tr><th>Pseudonym</th><th>Items</th></tr>
{{range .Redactions.Pseudonyms}}<tr><td>{{.Pseudonym}}</td><td>{{range $i, $r := .Items}}{{if $i}}, {{end}}{{$r}}{{end}}</td></tr>
{{end}}</table>{{else}}<p>No identity was replaced in this bundle.</p>{{end}}
{{if .Redactions.Withheld}}<table><tr><th>Entry</th><th>Item</th><th>Unredacted payload hashes to</th><th>Fields</th></tr>
{{range .Redactions.Withheld}}<tr><td>#{{.Index}}</td><td>{{.Item}}</td><td class="hash">{{.Payload}}</td><td>{{range $i, $f := .Fields}}{{if $i}}, {{end}}{{$f}}{{end}}</td></tr>
{{end}}</table>{{end}}

<h2>How to verify this bundle</h2>
<p>Offline, with the Custody verifier: <code>custody-verify --key 'KEY' PATH</code> (or <code>custody verify-bundle</code>), where KEY is
the store's verifier key obtained from the store itself, not from this bundle. It checks every file against its hash, every log entry
against its inclusion proof, the checkpoint's signature, and each chain of custody; exit status 0 means intact.</p>
<p>With standard tools, <code>sha256sum -c SHA256SUMS</code> in the bundle's directory checks that no file changed since the export.
See README.txt and the bundle format specification for the rest.</p>
</body>
</html>
`))

func (r *report) html() ([]byte, error) {
	var buf bytes.Buffer
	if err := reportHTML.Execute(&buf, r); err != nil {
		return nil, fmt.Errorf("render report.html: %w", err)
	}
	return buf.Bytes(), nil
}

func (r *report) pdf() []byte {
	label := r.M.Case + "-" + r.M.Batch
	d := newPDF("Court bundle " + label + " (export " + r.M.Export + ")")
	d.text(fontBold, 22, 0, "Court bundle")
	d.text(fontBold, 16, 0, label)
	d.gap(12)
	store := r.M.Store
	if r.M.StoreName != "" {
		store = r.M.StoreName + " (" + r.M.Store + ")"
	}
	for _, kv := range [][2]string{
		{"Case", r.M.Case}, {"Batch", r.M.Batch + " (the log index of the export's first access entry)"}, {"Export", r.M.Export},
		{"Created", r.M.Created}, {"Store", store}, {"Exported by", r.Exporter}, {"Items", strconv.Itoa(r.M.Items)},
	} {
		d.text(fontRegular, 11, 0, kv[0]+": "+kv[1])
	}
	d.gap(10)
	d.text(fontRegular, 9, 0, "This PDF is written in a standard font without Cyrillic: Ukrainian text is transliterated (official national "+
		"system, Resolution No. 55 of 2010). report.html and the JSON and CSV files carry the original text.")

	d.heading("Checkpoint")
	d.text(fontRegular, 10, 0, fmt.Sprintf("Every log entry in this bundle is proven to be in the log of tree size %d and root %s, "+
		"as this checkpoint, signed with the store's key, states:", r.M.TreeSize, r.Root))
	d.gap(4)
	d.text(fontMono, 8, 10, strings.TrimRight(r.Checkpoint, "\n"))
	d.gap(4)
	d.text(fontRegular, 10, 0, "Verifier key:")
	d.text(fontMono, 8, 10, r.Key)

	// The items, as a table, from a new page.
	d.newPage()
	d.text(fontBold, 13, 0, "Items")
	d.gap(4)
	cols := []float64{0, 150, 210, 330, 400}
	d.row(fontBold, 9, cols, []string{"Registration number", "Date", "Type", "Size", "Log index"})
	for _, it := range r.Rows {
		d.need(60)
		d.rule()
		d.row(fontBold, 9, cols, []string{it.RegNo, it.Date, it.Type, humanSize(it.Size), "#" + strconv.FormatUint(it.LogIndex, 10)})
		d.text(fontRegular, 9, 10, it.Title)
		var who []string
		if it.Author != "" {
			who = append(who, "Author: "+it.Author)
		}
		if it.Language != "" {
			who = append(who, "Language: "+it.Language)
		}
		if len(who) > 0 {
			d.text(fontRegular, 9, 10, strings.Join(who, "   "))
		}
		sum := it.SHA256
		if sum == "" {
			sum = "(no file: physical item)"
		}
		d.text(fontMono, 8, 10, "SHA-256 "+sum)
		if it.File != "" {
			d.text(fontMono, 8, 10, it.File)
		}
		extra := "Confidentiality: " + it.Confidentiality
		if it.Redacted {
			extra += "; redacted (witness protection)"
		}
		d.text(fontRegular, 9, 10, extra)
	}

	d.heading("Chain of custody")
	for _, c := range r.Chains {
		d.need(60)
		d.rule()
		d.text(fontBold, 10, 0, c.RegNo+"   item "+c.Item)
		for _, ev := range c.Events {
			w := ""
			if ev.Withheld {
				w = " [pseudonymised]"
			}
			d.text(fontRegular, 9, 10, fmt.Sprintf("#%d  %s  by %s: %s%s", ev.Index, ev.Time, ev.Actor, ev.What, w))
		}
		d.text(fontRegular, 9, 10, "Held at export by "+c.Holder+".")
	}

	d.heading("Witness protection")
	d.text(fontRegular, 9, 0, r.Redactions.Policy)
	if len(r.Redactions.Pseudonyms) == 0 {
		d.text(fontRegular, 9, 0, "No identity was replaced in this bundle.")
	}
	for _, p := range r.Redactions.Pseudonyms {
		d.text(fontRegular, 9, 10, p.Pseudonym+": "+strings.Join(p.Items, ", "))
	}
	for _, w := range r.Redactions.Withheld {
		d.text(fontMono, 8, 10, fmt.Sprintf("entry #%d (%s) withheld; unredacted payload %s", w.Index, w.Item, w.Payload))
	}

	d.heading("How to verify this bundle")
	d.text(fontRegular, 10, 0, "Offline, with the Custody verifier: custody-verify --key KEY PATH (or custody verify-bundle), where KEY is the "+
		"store's verifier key obtained from the store itself, not from the bundle. It checks every file against its hash, every log entry "+
		"against its inclusion proof, the checkpoint's signature and each chain of custody; exit status 0 means intact. "+
		"With standard tools, sha256sum -c SHA256SUMS in the bundle's directory checks that no file changed since the export. "+
		"README.txt and the bundle format specification explain the rest.")
	created, err := time.Parse(time.RFC3339Nano, r.M.Created)
	if err != nil {
		created = time.Unix(0, 0)
	}
	return d.bytes("Court bundle "+label, created)
}

func (r *report) readme() []byte {
	var b strings.Builder
	label := r.M.Case + "-" + r.M.Batch
	fmt.Fprintf(&b, "COURT BUNDLE %s\n\n", label)
	fmt.Fprintf(&b, "Case %s, batch %s, export %s.\n%d items, exported %s by %s from Custody store %s.\n\n",
		r.M.Case, r.M.Batch, r.M.Export, r.M.Items, r.M.Created, r.Exporter, r.M.Store)
	b.WriteString(`WHAT IS HERE

  files/            the original files, named <registration number>-<original name>
  metadata.csv      one row per item: registration number, title, date, type, author,
  metadata.json       language, source, confidentiality, size, SHA-256, log index
  custody.json      each item's chain of custody: intake, handovers, accesses, this export
  redactions.json   identities replaced by pseudonyms (witness protection), payloads withheld
  log/checkpoint    the store's signed checkpoint (tree head) every proof below is against
  log/verifier.key  the key that signs checkpoints (check it against the store's, see below)
  log/entries.json  every log entry about the items, with its private payload
  log/proofs.json   an inclusion proof of each entry in the log (RFC 6962)
  report.html       this bundle for people (full text); report.pdf the same, transliterated
  SHA256SUMS        the SHA-256 of every other file

HOW TO VERIFY IT

1. With the Custody verifier, offline, no network or store needed:

     custody-verify --key 'KEY' PATH          (PATH: this directory or the .zip)
     custody verify-bundle --key 'KEY' PATH   (the same check, in the custody command)

   KEY is the store's verifier key: obtain it from the store or its operators
   (custody log key), not from this bundle, whose own copy in log/verifier.key is
`)
	fmt.Fprintf(&b, "\n     %s\n\n", r.Key)
	b.WriteString(`   The verifier checks the checkpoint's signature, every entry against its inclusion
   proof, every payload against the hash its entry names, every metadata row against the
   intake entry, every file against SHA256SUMS and the metadata, and each chain of custody
   for continuity. Exit status 0: intact. 1: the problems are listed, each with the file,
   item and log entry concerned. --json prints the report as JSON.

2. With standard tools:

     sha256sum -c SHA256SUMS                  (in this directory; unzip a .zip first)

   shows that no file changed since the export. It does not show that the files are the
   ones the log recorded: for that, each item's SHA-256 in metadata.csv must equal the
   "blob" of its item.add payload in log/entries.json, and each payload must hash to the
   "payload" reference of its entry, e.g. for the first entry:

     jq -j '.entries[0].payload' log/entries.json | sha256sum

   The checkpoint is a C2SP signed note (Ed25519); the proofs follow RFC 6962: the leaf
   hash is SHA-256(0x00 || entry), an interior node SHA-256(0x01 || left || right), and
   each proof's hashes lead from the leaf to the checkpoint's root. Any tlog client that
   reads golang.org/x/mod/sumdb/note keys checks both.

WITNESS PROTECTION

`)
	b.WriteString(r.Redactions.Policy)
	b.WriteString("\n")
	if len(r.Redactions.Withheld) == 0 {
		b.WriteString("\nNo payload is withheld in this bundle.\n")
	} else {
		fmt.Fprintf(&b, "\n%d payloads are withheld in this bundle; see redactions.json.\n", len(r.Redactions.Withheld))
	}
	return []byte(b.String())
}
