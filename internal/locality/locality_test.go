package locality_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custody-dev/custody/internal/locality"
	"github.com/custody-dev/custody/internal/locality/internal/derive"
)

const (
	iziumCity    = "UA63040090010029555"
	iziumHromada = "UA63040090000021240"
	iziumRaion   = "UA63040000000023521"
	kharkivskaO  = "UA63000000000041885"
	kharkivCity  = "UA63120270010096107"
)

// refData is the shared reference-data directory, relative to this package.
const refData = "../../../shared/data"

func load(t testing.TB) *locality.Gazetteer {
	t.Helper()
	g, err := locality.Load()
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// TestLen checks that every row of the codifier is a unit: the CSV has
// 31,749 lines, a header and 31,748 rows, and no code repeats.
func TestLen(t *testing.T) {
	g := load(t)
	if got, want := g.Len(), 31748; got != want {
		t.Fatalf("Len() = %d, want %d", got, want)
	}
	if os.Getenv("CUSTODY_NO_SHARED") == "" {
		if f, err := os.Open(filepath.Join(refData, derive.KATOTTHPath)); err == nil {
			defer f.Close()
			n := -1 // header
			sc := bufio.NewScanner(f)
			for sc.Scan() {
				if strings.TrimSpace(sc.Text()) != "" {
					n++
				}
			}
			if n != g.Len() {
				t.Errorf("CSV has %d rows, gazetteer %d units", n, g.Len())
			}
		}
	}
}

func TestLoadReturnsIndependentValues(t *testing.T) {
	a, b := load(t), load(t)
	if a == b {
		t.Fatal("Load returned the same *Gazetteer twice")
	}
}

func TestGetAndCategories(t *testing.T) {
	g := load(t)
	tests := []struct {
		code  string
		cat   locality.Category
		name  string
		latin string
	}{
		{iziumCity, locality.City, "Ізюм", "Izium"},
		{kharkivCity, locality.City, "Харків", "Kharkiv"},
		{kharkivskaO, locality.Oblast, "Харківська", "Kharkivska"},
		{"UA80000000000093317", locality.SpecialCity, "Київ", "Kyiv"},
		{"UA80000000000980793", locality.CityDistrict, "Солом’янський", "Solomianskyi"},
		{" ua63040090010029555 ", locality.City, "Ізюм", "Izium"},
	}
	for _, tt := range tests {
		u, ok := g.Get(tt.code)
		if !ok {
			t.Errorf("Get(%q): not found", tt.code)
			continue
		}
		if u.Category != tt.cat || u.Name != tt.name || u.NameLatin != tt.latin {
			t.Errorf("Get(%q) = %v %q %q, want %v %q %q", tt.code, u.Category, u.Name, u.NameLatin, tt.cat, tt.name, tt.latin)
		}
	}
	if _, ok := g.Get("UA00000000000000000"); ok {
		t.Error("Get of an unknown code succeeded")
	}
	if got := locality.City.String(); got != "city" {
		t.Errorf("City.String() = %q", got)
	}
	if got := locality.Village.Ukrainian(); got != "село" {
		t.Errorf("Village.Ukrainian() = %q", got)
	}
	if locality.Category('Z').Valid() {
		t.Error("Category('Z').Valid()")
	}
}

func TestPath(t *testing.T) {
	g := load(t)
	path := g.Path(iziumCity)
	want := []struct {
		code string
		cat  locality.Category
		name string
	}{
		{kharkivskaO, locality.Oblast, "Харківська"},
		{iziumRaion, locality.Raion, "Ізюмський"},
		{iziumHromada, locality.Hromada, "Ізюмська"},
		{iziumCity, locality.City, "Ізюм"},
	}
	if len(path) != len(want) {
		t.Fatalf("Path(Izium) has %d units: %v", len(path), path)
	}
	for i, w := range want {
		if p := path[i]; p.Code != w.code || p.Category != w.cat || p.Name != w.name {
			t.Errorf("Path[%d] = %s %v %s, want %s %v %s", i, p.Code, p.Category, p.Name, w.code, w.cat, w.name)
		}
	}
	if p := g.Path("UA80000000000980793"); len(p) != 2 || p[0].Name != "Київ" {
		t.Errorf("Path(Solomianskyi district) = %v", p)
	}
	if p := g.Path("nope"); p != nil {
		t.Errorf("Path(unknown) = %v", p)
	}
}

func TestChildren(t *testing.T) {
	g := load(t)
	kids := g.Children(iziumHromada)
	if len(kids) == 0 || kids[0].Code != iziumCity {
		t.Fatalf("Children(Iziumska hromada) = %v, want Izium first", kids)
	}
	for _, k := range kids {
		if k.Parent != iziumHromada {
			t.Errorf("child %s has parent %s", k.Code, k.Parent)
		}
	}
	if got := len(g.Children("UA80000000000093317")); got != 10 {
		t.Errorf("Kyiv has %d districts, want 10", got)
	}
	if g.Children(iziumCity) != nil || g.Children("nope") != nil {
		t.Error("Children of a settlement or unknown code is not nil")
	}
	// Every unit is reachable from the roots, exactly once.
	seen := 0
	var walk func(code string)
	walk = func(code string) {
		for _, k := range g.Children(code) {
			seen++
			walk(k.Code)
		}
	}
	roots := g.Children("")
	for _, r := range roots {
		if r.Parent != "" {
			t.Errorf("root %s has parent %s", r.Code, r.Parent)
		}
		seen++
		walk(r.Code)
	}
	if len(roots) != 27 {
		t.Errorf("found %d roots, want 27 (24 oblasts, Crimea, Kyiv, Sevastopol)", len(roots))
	}
	if seen != g.Len() {
		t.Errorf("walked %d units from the roots, want %d", seen, g.Len())
	}
}

func TestSearch(t *testing.T) {
	g := load(t)
	tests := []struct {
		q, want string
	}{
		{"Ізюм", iziumCity},
		{"ізюм", iziumCity},
		{"Izium", iziumCity},
		{"Izyum", iziumCity},
		{"IZIUM", iziumCity},
		{"Изюм", iziumCity},
		{" izium ", iziumCity},
		{"Харків", kharkivCity},
		{"Kharkiv", kharkivCity},
		{"Kharkov", kharkivCity},
		{"Харьков", kharkivCity},
		{"Балаклія", "UA63040010010039074"},
		{"Balakliia", "UA63040010010039074"},
		{"Balakleya", "UA63040010010039074"},
		{"Balakliya", "UA63040010010039074"},
		{"Куп'янськ", "UA63080090010026457"},
		{"Куп’янськ", "UA63080090010026457"},
		{"Купʼянськ", "UA63080090010026457"},
		{"Купянськ", "UA63080090010026457"},
		{"Kupiansk", "UA63080090010026457"},
		{"Kupyansk", "UA63080090010026457"},
		{"Kup'yansk", "UA63080090010026457"},
		{"Київ", "UA80000000000093317"},
		{"Kyiv", "UA80000000000093317"},
		{"Kiev", "UA80000000000093317"},
	}
	for _, tt := range tests {
		got := g.Search(tt.q, 5)
		if len(got) == 0 || got[0].Code != tt.want {
			var names []string
			for _, u := range got {
				names = append(names, u.Code+" "+u.Name)
			}
			t.Errorf("Search(%q) = %v, want %s first", tt.q, names, tt.want)
		}
	}
	if got := g.Search("", 5); got != nil {
		t.Errorf("Search(\"\") = %v", got)
	}
	if got := g.Search("Ізюм", 0); len(got) == 0 || len(got) > locality.DefaultLimit {
		t.Errorf("Search with limit 0 returned %d", len(got))
	}
	// Exact matches first, then prefixes: the Izium raion and hromada follow.
	got := g.Search("Izium", 3)
	if len(got) != 3 || got[1].Category != locality.Raion || got[2].Category != locality.Hromada {
		t.Errorf("Search(Izium, 3) = %v", got)
	}
	// Ranking: among namesakes, cities before villages; deterministic.
	many := g.Search("Миколаїв", 100)
	for i := 1; i < len(many); i++ {
		if many[i].Name == "Миколаїв" && many[i-1].Name == "Миколаїв" &&
			many[i-1].Category == locality.Village && many[i].Category == locality.City {
			t.Errorf("village %s ranked before city %s", many[i-1].Code, many[i].Code)
		}
	}
}

func TestBalakliiaAndKupianskCodes(t *testing.T) {
	g := load(t)
	for code, name := range map[string]string{"UA63040010010039074": "Балаклія", "UA63080090010026457": "Куп’янськ"} {
		if u, ok := g.Get(code); !ok || u.Name != name || u.Category != locality.City {
			t.Errorf("Get(%s) = %v, %v; want city %s", code, u, ok, name)
		}
	}
}

func TestCoordinates(t *testing.T) {
	g := load(t)
	for _, tt := range []struct {
		code     string
		lat, lon float64
	}{
		{iziumCity, 49.21, 37.26},
		{kharkivCity, 49.99, 36.23},
		{iziumHromada, 49.21, 37.26}, // administrative centre
		{kharkivskaO, 49.99, 36.23},
	} {
		u, _ := g.Get(tt.code)
		if !u.HasCoord || math.Abs(u.Lat-tt.lat) > 0.1 || math.Abs(u.Lon-tt.lon) > 0.1 {
			t.Errorf("%s %s at (%v, %v, %v), want near %v, %v", tt.code, u.Name, u.Lat, u.Lon, u.HasCoord, tt.lat, tt.lon)
		}
	}
}

func TestTransliterate(t *testing.T) {
	tests := []struct{ uk, want string }{
		// Official examples of Resolution No. 55 (2010).
		{"Алушта", "Alushta"}, {"Борщагівка", "Borshchahivka"}, {"Вінниця", "Vinnytsia"},
		{"Гадяч", "Hadiach"}, {"Згорани", "Zghorany"}, {"Розгон", "Rozghon"},
		{"Ґалаґан", "Galagan"}, {"Ґорґани", "Gorgany"}, {"Донецьк", "Donetsk"},
		{"Рівне", "Rivne"}, {"Єнакієве", "Yenakiieve"}, {"Наєнко", "Naienko"},
		{"Житомир", "Zhytomyr"}, {"Закарпаття", "Zakarpattia"}, {"Медвин", "Medvyn"},
		{"Іршава", "Irshava"}, {"Їжакевич", "Yizhakevych"}, {"Кадиївка", "Kadyivka"},
		{"Йосипівка", "Yosypivka"}, {"Стрий", "Stryi"}, {"Олексій", "Oleksii"},
		{"Київ", "Kyiv"}, {"Лебедин", "Lebedyn"}, {"Миколаїв", "Mykolaiv"},
		{"Ніжин", "Nizhyn"}, {"Одеса", "Odesa"}, {"Полтава", "Poltava"},
		{"Ромни", "Romny"}, {"Суми", "Sumy"}, {"Тетерів", "Teteriv"},
		{"Ужгород", "Uzhhorod"}, {"Фастів", "Fastiv"}, {"Харків", "Kharkiv"},
		{"Біла Церква", "Bila Tserkva"}, {"Чернівці", "Chernivtsi"},
		{"Шостка", "Shostka"}, {"Гоща", "Hoshcha"}, {"Щербухи", "Shcherbukhy"},
		{"Юрій", "Yurii"}, {"Крюківка", "Kriukivka"}, {"Яготин", "Yahotyn"},
		{"Ічня", "Ichnia"}, {"Короп'є", "Koropie"}, {"Знам’янка", "Znamianka"},
		{"Гайсин", "Haisyn"}, {"Ізюм", "Izium"}, {"Куп’янськ", "Kupiansk"},
		{"Балаклія", "Balakliia"}, {"Біла Криниця-Яр", "Bila Krynytsia-Yar"},
		{"ЩАСТЯ", "SHCHASTIA"}, {"ЗГОРАНИ", "ZGHORANY"}, {"Нова Ямпіль", "Nova Yampil"},
		{"Ukraine 2022", "Ukraine 2022"}, {"", ""},
	}
	for _, tt := range tests {
		if got := locality.Transliterate(tt.uk); got != tt.want {
			t.Errorf("Transliterate(%q) = %q, want %q", tt.uk, got, tt.want)
		}
	}
}

func TestFold(t *testing.T) {
	for _, set := range [][]string{
		{"Izium", "Izyum", "Ізюм", "Изюм", "IZIUM"},
		{"Balakliia", "Balakleya", "Балаклія", "Balakliya"},
		{"Kupiansk", "Kupyansk", "Куп'янськ", "Kupjansk"},
		{"Zaporizhzhia", "Zaporizhia", "Запоріжжя"},
	} {
		want := locality.Fold(set[0])
		for _, s := range set[1:] {
			if got := locality.Fold(s); got != want {
				t.Errorf("Fold(%q) = %q, want %q (as %q)", s, got, want, set[0])
			}
		}
	}
}

// TestRegenerate checks that the embedded file is what internal/gen makes
// from the reference data. It is skipped where that data is absent.
func TestRegenerate(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	open := func(p string) *os.File {
		f, err := os.Open(filepath.Join(refData, p))
		if os.IsNotExist(err) {
			t.Skipf("reference data absent: %v", err)
		} else if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	k, gn, b := open(derive.KATOTTHPath), open(derive.GeoNamesPath), open(derive.BoundariesPath)
	var buf bytes.Buffer
	st, err := derive.Generate(k, gn, b, &buf)
	if err != nil {
		t.Fatal(err)
	}
	embedded, err := os.ReadFile("data/localities.tsv.gz")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), embedded) {
		t.Fatalf("regenerated data (%d bytes) differs from data/localities.tsv.gz (%d bytes); run go generate", buf.Len(), len(embedded))
	}
	readme, err := os.ReadFile("data/README.md")
	if err != nil {
		t.Fatal(err)
	}
	if string(readme) != derive.README(st, buf.Len()) {
		t.Error("data/README.md is stale; run go generate")
	}
	if _, err := gzip.NewReader(bytes.NewReader(embedded)); err != nil {
		t.Fatal(err)
	}
}

func FuzzSearch(f *testing.F) {
	g := load(f)
	for _, s := range []string{"Ізюм", "Kharkov", "Куп’янськ", "", "зг", "'", "\xff", "ЩАСТЯ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		res := g.Search(q, 5)
		if len(res) > 5 {
			t.Fatalf("Search(%q) returned %d results", q, len(res))
		}
	})
}

func FuzzTransliterate(f *testing.F) {
	for _, s := range []string{"Ізюм", "Згорани", "Короп'є", "ЯЇЄЮ", "", "\xff", "зГ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_ = locality.Transliterate(s)
		_ = locality.Fold(s)
		_ = locality.Normalize(s)
	})
}

func BenchmarkLoad(b *testing.B) {
	for b.Loop() {
		if _, err := locality.Load(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSearch(b *testing.B) {
	g := load(b)
	qs := []string{"Ізюм", "Kharkov", "Kupyansk", "Нова", "k"}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		g.Search(qs[i%len(qs)], 10)
	}
}
