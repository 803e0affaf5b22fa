package evidence

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/custody-dev/custody"
	"github.com/custody-dev/custody/internal/legal"
)

// checkCharges holds a case's charges to the legal catalogue: each crime
// exists and each supported element is one of its elements.
func checkCharges(charges []custody.Charge) error {
	if len(charges) == 0 {
		return nil
	}
	cat, err := legal.Load()
	if err != nil {
		return fmt.Errorf("load the legal catalogue: %w", err)
	}
	for i, ch := range charges {
		crime, ok := cat.Crime(ch.Crime)
		if !ok {
			return &custody.Error{Code: custody.EINVALID,
				Message: fmt.Sprintf("case.charges[%d].crime: %s is not a crime of the legal catalogue", i, truncate(ch.Crime, 40)),
				Hint:    "for example RS 8(2)(a)(i) (wilful killing), RS 8(2)(a)(ii)-1 (torture), CCU 438(1)"}
		}
		elems := make(map[string]bool, len(crime.Elements))
		for _, e := range crime.Elements {
			elems[e.ID] = true
		}
		for j, sp := range ch.Support {
			if !elems[sp.Element] {
				return custody.Errorf(custody.EINVALID, "case.charges[%d].support[%d].element: %s is not an element of %s", i, j, truncate(sp.Element, 40), ch.Crime)
			}
		}
	}
	return nil
}

// CaseMatrix returns the case matrix of a case: for each charged crime,
// each of its elements (material, contextual, mental) with the sources
// that support it, who linked each and when (the case version that first
// carried the link), and the gaps: elements with no support, with a single
// source, or with unverified sources only. Errors: ENOTFOUND, EINVALID (the
// record is not a case).
func (s *Service) CaseMatrix(ctx context.Context, actor *custody.User, id string) (*custody.CaseMatrix, error) {
	if err := s.CanSee(ctx, actor, "case", id); err != nil {
		return nil, err
	}
	red, err := s.redactor(ctx)
	if err != nil {
		return nil, err
	}
	m, err := s.caseMatrix(ctx, id)
	if err != nil {
		return nil, err
	}
	for i := range m.Charges {
		for j := range m.Charges[i].Elements {
			for k := range m.Charges[i].Elements[j].Support {
				sp := &m.Charges[i].Elements[j].Support[k]
				if ps, ok := red.ByPerson[sp.Source]; ok {
					sp.Title = ps
				} else {
					sp.Title, _ = red.Text(sp.Title)
				}
				sp.Reason, _ = red.Text(sp.Reason)
			}
		}
	}
	return m, nil
}

func (s *Service) caseMatrix(ctx context.Context, id string) (*custody.CaseMatrix, error) {
	rec, err := s.cfg.DB.Record(ctx, id)
	if err != nil {
		return nil, err
	}
	if rec.Kind != custody.KindCase {
		return nil, custody.Errorf(custody.EINVALID, "record %s is a %s, not a case", id, rec.Kind)
	}
	var c custody.Case
	if err := json.Unmarshal(rec.Data, &c); err != nil {
		return nil, fmt.Errorf("case %s: %w", id, err)
	}
	hist, err := s.cfg.DB.RecordHistory(ctx, id)
	if err != nil {
		return nil, err
	}
	// Who linked each (crime, element, source) first, walking the versions.
	type key struct{ crime, element, source string }
	linked := map[key]*custody.RecordVersion{}
	for _, v := range hist {
		if len(v.Data) == 0 {
			continue
		}
		var old custody.Case
		if json.Unmarshal(v.Data, &old) != nil {
			continue
		}
		for _, ch := range old.Charges {
			for _, sp := range ch.Support {
				k := key{ch.Crime, sp.Element, sp.Source}
				if _, ok := linked[k]; !ok {
					linked[k] = v
				}
			}
		}
	}
	cat, err := legal.Load()
	if err != nil {
		return nil, fmt.Errorf("load the legal catalogue: %w", err)
	}
	m := &custody.CaseMatrix{Case: rec.ID, Number: c.Number, Title: c.Title, Charges: []custody.ChargeMatrix{}}
	sources := map[string]custody.SupportMatrix{} // source ID → kind, title, withdrawn
	for _, ch := range c.Charges {
		crime, ok := cat.Crime(ch.Crime)
		cm := custody.ChargeMatrix{Crime: ch.Crime, Title: crime.Title, Provisions: crime.Provisions, Elements: []custody.ElementMatrix{}}
		if !ok {
			cm.Title = "(not in the legal catalogue)"
		}
		bySupport := map[string][]custody.Support{}
		for _, sp := range ch.Support {
			bySupport[sp.Element] = append(bySupport[sp.Element], sp)
		}
		for _, el := range crime.Elements {
			em := custody.ElementMatrix{Element: el.ID, Kind: string(el.Kind), Text: el.Text, Support: []custody.SupportMatrix{}}
			verified, live := 0, 0
			for _, sp := range bySupport[el.ID] {
				src, ok := sources[sp.Source]
				if !ok {
					if src, err = s.describeSource(ctx, sp.Source); err != nil {
						return nil, err
					}
					sources[sp.Source] = src
				}
				src.Reason, src.Verified = sp.Reason, sp.Verified
				if v := linked[key{ch.Crime, sp.Element, sp.Source}]; v != nil {
					src.LinkedBy, src.LinkedAt = v.Actor, v.Time
				}
				em.Support = append(em.Support, src)
				if !src.Withdrawn {
					live++
					if sp.Verified {
						verified++
					}
				}
			}
			switch {
			case live == 0:
				em.Gap = custody.GapUnsupported
			case live == 1:
				em.Gap = custody.GapSingleSource
			case verified == 0:
				em.Gap = custody.GapUnverified
			}
			if em.Gap != "" {
				m.Gaps++
			}
			cm.Elements = append(cm.Elements, em)
		}
		m.Charges = append(m.Charges, cm)
	}
	return m, nil
}

// describeSource names a supporting source: a record or an item.
func (s *Service) describeSource(ctx context.Context, id string) (custody.SupportMatrix, error) {
	src := custody.SupportMatrix{Source: id}
	r, err := s.cfg.DB.Record(ctx, id)
	if err == nil {
		src.SourceKind, src.Title, src.Withdrawn = r.Kind, r.Title, r.Withdrawn
		return src, nil
	}
	if custody.ErrorCode(err) != custody.ENOTFOUND {
		return src, err
	}
	it, err := s.cfg.DB.Item(ctx, id)
	if err != nil {
		return src, err
	}
	src.SourceKind, src.Title = "item", it.Name
	if src.Title == "" {
		src.Title = it.Description
	}
	return src, nil
}
