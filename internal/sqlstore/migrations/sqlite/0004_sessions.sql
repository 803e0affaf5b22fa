-- Web sign-in sessions. NOT derived from the log and not an index table:
-- a rebuild or replay leaves them alone (a rebuilt SQLite file starts with
-- none, which signs everyone out). The session token is never stored, only
-- its SHA-256 (hex); the CSRF token is the synchronizer token of the
-- session's forms. Times are custody.TimeFormat text (UTC, fixed width), so
-- text comparison is time comparison.
CREATE TABLE sessions (
  id_hash TEXT PRIMARY KEY, user_id TEXT NOT NULL, csrf TEXT NOT NULL,
  created_at TEXT NOT NULL, last_seen TEXT NOT NULL, idle_until TEXT NOT NULL, expires_at TEXT NOT NULL,
  user_agent TEXT, addr TEXT);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);
-- The map (sqlstore.MapCells, MapPoints): the positions of live records,
-- covering every filter the map has, so that counting a million points by
-- grid cell is one pass over this index and never reads the table. An
-- index on derived rows: rebuilt with them, like the others.
CREATE INDEX records_map ON records (kind, lat, lon, type, date) WHERE withdrawn = 0 AND lat IS NOT NULL;
