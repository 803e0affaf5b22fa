package demo

// place is a real Kharkiv-oblast settlement (its KATOTTH code and names as
// in the codifier) with the demo's figures. Occupation and liberation
// dates follow public reporting approximately; populations are rounded
// approximations. Positions are approximate settlement centres. All of it
// is recorded as synthetic demo data.
type place struct {
	code      string
	name      string // Latin, as in the codifier
	uk, ru    string
	lat, lon  float64
	occupied  string // YYYY-MM-DD, "" if never occupied
	liberated string
	pop       int // before the full-scale invasion, rounded; 0 if not recorded
	remained  int // percent of the population present at liberation
	weight    int // how often strikes and incidents fall here
}

// The demo's localities: Izium and settlements around it, and a few more
// across the oblast. Codes are KATOTTH (edition of 16 May 2025).
var places = []place{
	{"UA63040090010029555", "Izium", "Ізюм", "Изюм", 49.2088, 37.2485, "2022-04-01", "2022-09-10", 45000, 20, 10},
	{"UA63040010010039074", "Balakliia", "Балаклія", "Балаклея", 49.4627, 36.8595, "2022-03-03", "2022-09-08", 26000, 35, 5},
	{"UA63080090010026457", "Kupiansk", "Куп’янськ", "Купянск", 49.7106, 37.6156, "2022-02-27", "2022-09-10", 27000, 30, 6},
	{"UA63040050010023832", "Borova", "Борова", "Боровая", 49.3777, 37.6214, "2022-04-06", "2022-10-02", 5000, 25, 3},
	{"UA63040130110044022", "Kapytolivka", "Капитолівка", "Капитоловка", 49.1745, 37.3068, "2022-04-01", "2022-09-10", 2000, 30, 3},
	{"UA63040090080095309", "Kamianka", "Кам’янка", "Каменка", 49.3050, 37.1400, "2022-03-18", "2022-09-10", 1100, 20, 2},
	{"UA63040130010024034", "Oskil", "Оскіл", "Оскол", 49.1791, 37.4259, "2022-04-05", "2022-09-11", 2500, 30, 2},
	{"UA63040110010083720", "Kunie", "Куньє", "Кунье", 49.3787, 37.2618, "2022-03-25", "2022-09-10", 900, 35, 1},
	{"UA63040150010069203", "Savyntsi", "Савинці", "Савинцы", 49.4010, 37.0530, "2022-03-20", "2022-09-09", 3000, 40, 2},
	{"UA63080150010082504", "Shevchenkove", "Шевченкове", "Шевченково", 49.6936, 37.1736, "2022-02-28", "2022-09-08", 6500, 45, 2},
	{"UA63140010010035757", "Vovchansk", "Вовчанськ", "Волчанск", 50.2908, 36.9411, "2022-02-24", "2022-09-11", 17000, 40, 4},
	{"UA63120070020018703", "Kozacha Lopan", "Козача Лопань", "Казачья Лопань", 50.3321, 36.1982, "2022-02-25", "2022-09-11", 5000, 40, 3},
	{"UA63140150040031976", "Hrakove", "Гракове", "Граково", 49.7182, 36.8148, "2022-03-01", "2022-09-09", 700, 30, 1},
	{"UA63080010010090750", "Velykyi Burluk", "Великий Бурлук", "Великий Бурлук", 50.0617, 37.3837, "2022-02-25", "2022-09-12", 4000, 45, 2},
	// Kharkiv's population (about 1.4 million) is left out: the locality
	// record refuses counts above 1,000,000 as implausible.
	{"UA63120270010096107", "Kharkiv", "Харків", "Харьков", 49.9935, 36.2304, "", "", 0, 70, 8},
}

// Indexes into places of the settlements the dataset centres on.
const (
	pIzium = iota
	pBalakliia
	pKupiansk
	pBorova
	pKapytolivka
	pKamianka
	pOskil
	pKunie
	pSavyntsi
	pShevchenkove
	pVovchansk
	pKozachaLopan
	pHrakove
	pVelykyiBurluk
	pKharkiv
)
