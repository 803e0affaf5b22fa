package api

import (
	"github.com/custody-dev/custody"
	"github.com/custody-dev/custody/verify"
)

// validTilePath accepts only canonical tlog-tiles paths, so that nothing but
// tiles and entry bundles can be read through /log/tile/.
func validTilePath(name string) error {
	if _, err := verify.ParsePath(name); err != nil {
		return custody.Errorf(custody.ENOTFOUND, "no such log resource")
	}
	return nil
}

func containsPartial(name string) bool {
	t, err := verify.ParsePath(name)
	return err == nil && t.Width < verify.TileWidth
}
