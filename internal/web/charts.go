package web

import (
	"fmt"
	"math"
	"unicode/utf8"
)

// Charts are drawn on the server as inline SVG: bars as rectangles whose
// colours come from classes in app.css (no inline style), each chart with a
// title and description for screen readers and its figures as a table
// beside it.

type chart struct {
	ID            string
	Title, Desc   string
	Width, Height int
	Bars          []svgBar
	Texts         []svgText
	Lines         []svgLine
	Legend        []legendItem
	Table         chartTable
	Empty         bool
}

type svgBar struct {
	X, Y, W, H float64
	Class      string
	Tip        string
}

type svgText struct {
	X, Y   float64
	Text   string
	Anchor string // start, middle, end
	Class  string
	Full   string // the whole text when Text is shortened
}

type svgLine struct{ X1, Y1, X2, Y2 float64 }

type legendItem struct{ Class, Label string }

type chartTable struct {
	Caption string
	Head    []string
	Rows    [][]string
}

// series is one set of values across the categories of a chart.
type series struct {
	Name   string
	Class  string
	Values []int
}

func shorten(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// niceMax rounds a maximum up to a round number for the axis.
func niceMax(v int) int {
	if v <= 5 {
		return 5
	}
	p := math.Pow(10, math.Floor(math.Log10(float64(v))))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if float64(v) <= m*p {
			return int(m * p)
		}
	}
	return v
}

// hbars draws horizontal bars, one row per category, the series side by
// side (stacked=false) or end to end (stacked=true).
func hbars(l *localizer, id, title, desc string, cats []string, ss []series, stacked bool) *chart {
	c := &chart{ID: id, Title: title, Desc: desc, Width: 720}
	const labelW, right, rowGap, top = 200.0, 70.0, 10.0, 8.0
	barH := 16.0
	if !stacked {
		barH = 12.0
	}
	rowH := barH + rowGap
	if !stacked {
		rowH = barH*float64(len(ss)) + rowGap
	}
	max := 0
	for i := range cats {
		sum := 0
		for _, s := range ss {
			if stacked {
				sum += s.Values[i]
			} else if s.Values[i] > max {
				max = s.Values[i]
			}
		}
		if stacked && sum > max {
			max = sum
		}
	}
	c.Empty = max == 0
	max = niceMax(max)
	plotW := float64(c.Width) - labelW - right
	scale := plotW / float64(max)
	y := top
	for i, cat := range cats {
		c.Texts = append(c.Texts, svgText{X: labelW - 8, Y: y + rowH/2 - rowGap/2 + 4, Text: shorten(cat, 24), Full: cat, Anchor: "end", Class: "lbl"})
		x := labelW
		total := 0
		for j, s := range ss {
			v := s.Values[i]
			total += v
			w := float64(v) * scale
			by := y
			if !stacked {
				by = y + float64(j)*barH
				x = labelW
			}
			if v > 0 {
				c.Bars = append(c.Bars, svgBar{X: x, Y: by, W: math.Max(w, 1), H: barH - 1, Class: s.Class,
					Tip: fmt.Sprintf("%s — %s: %s", cat, s.Name, l.Num(v))})
			}
			if !stacked {
				c.Texts = append(c.Texts, svgText{X: x + w + 4, Y: by + barH - 3, Text: l.Num(v), Anchor: "start", Class: "val"})
			} else {
				x += w
			}
		}
		if stacked {
			c.Texts = append(c.Texts, svgText{X: x + 4, Y: y + barH - 3, Text: l.Num(total), Anchor: "start", Class: "val"})
		}
		y += rowH
	}
	// Axis: zero and the maximum.
	c.Lines = append(c.Lines, svgLine{labelW, top - 4, labelW, y - rowGap + 4})
	c.Texts = append(c.Texts, svgText{X: labelW, Y: y + 12, Text: "0", Anchor: "middle", Class: "axis"},
		svgText{X: labelW + plotW, Y: y + 12, Text: l.Num(max), Anchor: "middle", Class: "axis"})
	c.Lines = append(c.Lines, svgLine{labelW + plotW, top - 4, labelW + plotW, y - rowGap + 4})
	c.Height = int(y + 20)
	for _, s := range ss {
		c.Legend = append(c.Legend, legendItem{Class: s.Class, Label: s.Name})
	}
	c.Table.Caption = title
	c.Table.Head = append(c.Table.Head, "")
	for _, s := range ss {
		c.Table.Head = append(c.Table.Head, s.Name)
	}
	for i, cat := range cats {
		row := []string{cat}
		for _, s := range ss {
			row = append(row, l.Num(s.Values[i]))
		}
		c.Table.Rows = append(c.Table.Rows, row)
	}
	return c
}

// columns draws stacked columns, one per category (a month), the series
// stacked bottom up.
func columns(l *localizer, id, title, desc string, cats []string, ss []series) *chart {
	c := &chart{ID: id, Title: title, Desc: desc, Height: 260}
	const left, bottom, top = 44.0, 40.0, 10.0
	colW := 18.0
	if len(cats) > 36 {
		colW = 10
	}
	gap := colW / 3
	c.Width = int(left + float64(len(cats))*(colW+gap) + 20)
	if c.Width < 320 {
		c.Width = 320
	}
	max := 0
	for i := range cats {
		sum := 0
		for _, s := range ss {
			sum += s.Values[i]
		}
		max = int(math.Max(float64(max), float64(sum)))
	}
	c.Empty = max == 0
	max = niceMax(max)
	plotH := float64(c.Height) - bottom - top
	scale := plotH / float64(max)
	base := top + plotH
	for _, frac := range []float64{0, 0.5, 1} {
		y := base - frac*plotH
		c.Lines = append(c.Lines, svgLine{left, y, float64(c.Width) - 10, y})
		c.Texts = append(c.Texts, svgText{X: left - 4, Y: y + 4, Text: l.Num(int(frac * float64(max))), Anchor: "end", Class: "axis"})
	}
	every := 1 + len(cats)/12
	for i, cat := range cats {
		x := left + gap/2 + float64(i)*(colW+gap)
		y := base
		for _, s := range ss {
			v := s.Values[i]
			if v == 0 {
				continue
			}
			h := float64(v) * scale
			y -= h
			c.Bars = append(c.Bars, svgBar{X: x, Y: y, W: colW, H: math.Max(h, 1), Class: s.Class,
				Tip: fmt.Sprintf("%s — %s: %s", cat, s.Name, l.Num(v))})
		}
		if i%every == 0 {
			c.Texts = append(c.Texts, svgText{X: x + colW/2, Y: base + 14, Text: cat, Anchor: "middle", Class: "axis"})
		}
	}
	for _, s := range ss {
		c.Legend = append(c.Legend, legendItem{Class: s.Class, Label: s.Name})
	}
	c.Table.Caption = title
	c.Table.Head = append(c.Table.Head, "")
	for _, s := range ss {
		c.Table.Head = append(c.Table.Head, s.Name)
	}
	for i, cat := range cats {
		row := []string{cat}
		for _, s := range ss {
			row = append(row, l.Num(s.Values[i]))
		}
		c.Table.Rows = append(c.Table.Rows, row)
	}
	return c
}
