package evidence

import (
	"context"

	"github.com/custody-dev/custody"

	"github.com/custody-dev/custody/internal/sqlstore"
)

// MapFilter selects the records on the map: those of the given kinds
// within a box of latitudes and longitudes, optionally of one type (site or
// incident type) and dated within a range (dates as custody.RecordFilter's).
// Withdrawn records are never on the map.
type MapFilter = sqlstore.MapFilter

// MapCell is the number of one kind's records in one cell of a grid, and
// their mean position.
type MapCell = sqlstore.MapCell

// MapPoint is one record on the map.
type MapPoint = sqlstore.MapPoint

// MapCells counts the records on the map in the cells of a grid of dLat by
// dLon degrees, in the database: a map of a million records reads their
// positions once, from an index, and returns at most a few thousand rows.
// Errors: EINVALID.
func (s *Service) MapCells(ctx context.Context, actor *custody.User, f MapFilter, dLat, dLon float64) ([]MapCell, error) {
	v, err := s.view(ctx, actor)
	if err != nil {
		return nil, err
	}
	f.Scope = v.scope
	return s.cfg.DB.MapCells(ctx, f, dLat, dLon)
}

// MapPoints returns up to limit records on the map, with their titles, for
// a view holding few enough to draw one by one. Errors: EINVALID.
func (s *Service) MapPoints(ctx context.Context, actor *custody.User, f MapFilter, limit int) ([]MapPoint, error) {
	v, err := s.view(ctx, actor)
	if err != nil {
		return nil, err
	}
	f.Scope = v.scope
	pts, err := s.cfg.DB.MapPoints(ctx, f, limit)
	if err != nil {
		return nil, err
	}
	red, err := s.redactor(ctx)
	if err != nil {
		return nil, err
	}
	for i := range pts {
		pts[i].Title, _ = red.Text(pts[i].Title)
	}
	return pts, nil
}
